#!/bin/sh
# Modern IMAP against Dovecot 2.3 on the same Maildir (issue 17):
# UID SORT (REVERSE DATE) and UID THREAD REFERENCES on 50,000 messages,
# CONDSTORE and QRESYNC resyncs after 100 changes, memory of 2,000
# compressed IDLE connections.  Not in `make test`; needs root and a
# release build.
#
#   YOUJU_BIN              binaries to measure (default: build/bin)
#   BENCH_MODERN_MESSAGES  messages in the folder (50000)
#   BENCH_MODERN_ROUNDS    timed rounds per command, median (3)
#   BENCH_MODERN_IDLE      compressed IDLE connections (2000)
#   BENCH_MODERN_PHASES    which parts (sort,resync,qresync,idle)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${YOUJU_BIN:-$top/build/bin}
case $bin in /*) ;; *) bin=$top/$bin ;; esac
if [ ! -x "$bin/youju-mra" ]; then
	echo "bench/mra/modern: no youju binaries in $bin (make all)" >&2
	exit 1
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec timeout --foreground -k 15 "${BENCH_TIMEOUT:-3600}" \
	python3 "$top/bench/mra/modern.py" --bin "$bin" \
	--messages "${BENCH_MODERN_MESSAGES:-50000}" \
	--rounds "${BENCH_MODERN_ROUNDS:-3}" \
	--idle "${BENCH_MODERN_IDLE:-2000}" \
	--phases "${BENCH_MODERN_PHASES:-sort,resync,qresync,idle}"
