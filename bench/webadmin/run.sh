#!/bin/sh
# youju-webadmin: the JSON list of 100,000 mailboxes, paged and searched
# (issue 11): requests/s, p50/p99, RSS.  Called by bench/run.sh.
#   YOUJU_BIN        binaries (default: build/bin)
#   BENCH_MAILBOXES  mailboxes in the domain (100000)
#   BENCH_CLIENTS    concurrent keep-alive clients (8)
#   BENCH_SECONDS    seconds per measurement (10)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${YOUJU_BIN:-$top/build/bin}
case $bin in /*) ;; *) bin=$top/$bin ;; esac
if [ ! -x "$bin/youju-webadmin" ]; then
	echo "bench/webadmin: no youju-webadmin in $bin (make all)" >&2
	exit 1
fi
exec timeout -k 15 ${BENCH_TIMEOUT:-300} python3 "$top/bench/webadmin/bench.py" "$bin"
