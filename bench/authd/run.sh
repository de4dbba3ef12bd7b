#!/bin/sh
# youju-authd vs Debian's courier-authdaemond + authmysql (issue 3, item 10):
# auths/s and p50/p99 latency under the same load, same database, same run.
# Called by bench/run.sh (`make bench`, which builds `all` first).
#
#   YOUJU_BIN      binaries to measure (default: build/bin)
#   BENCH_CLIENTS  concurrent clients (32)
#   BENCH_SECONDS  measured seconds per server and round (5), after
#                  BENCH_WARMUP (2)
#   BENCH_ROUNDS   the servers take turns this many times (3)
#   BENCH_USERS    mailboxes cycled through (1000)
#   BENCH_DAEMONS  courier daemons = youju authd_workers = MySQL connections (8)
#   BENCH_ROWS     rows to run (on,off,nolanes,courier,nouser: all); e.g.
#                  off,courier for a quick A/B of the cache-off row
#
#   BENCH_TIMEOUT  seconds before the run is stopped (280)
#
# Bounded: after BENCH_TIMEOUT the driver gets SIGTERM (and SIGKILL 15 s
# later); it stops both servers, which takes the mount namespace with it,
# and removes the instance and the temporary directories.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${YOUJU_BIN:-$top/build/bin}
case $bin in /*) ;; *) bin=$top/$bin ;; esac
if [ ! -x "$bin/youju-authd" ] || [ ! -x "$bin/youju" ]; then
	echo "bench/authd: no youju binaries in $bin (make all)" >&2
	exit 1
fi
tmp=$(mktemp -d /tmp/youju-bench-load.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
if ! cc -O2 -std=c11 -D_GNU_SOURCE -o "$tmp/authload" \
	"$top/bench/authd/authload.c" -lpthread; then
	echo "bench/authd: cannot compile authload.c" >&2
	exit 1
fi
# --foreground keeps the driver in our process group, so that a Ctrl-C
# reaches it and its clean-up runs
timeout --foreground -k 15 "${BENCH_TIMEOUT:-280}" \
	python3 "$top/bench/authd/bench.py" --bin "$bin" --load "$tmp/authload" \
	--clients "${BENCH_CLIENTS:-32}" --seconds "${BENCH_SECONDS:-5}" \
	--rounds "${BENCH_ROUNDS:-3}" \
	--warmup "${BENCH_WARMUP:-2}" --users "${BENCH_USERS:-1000}" \
	--daemons "${BENCH_DAEMONS:-8}" \
	--rows "${BENCH_ROWS:-on,off,nolanes,courier,nouser}"
