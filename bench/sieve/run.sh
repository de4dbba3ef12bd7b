#!/bin/sh
# youju-mta delivering with a 50-rule Sieve script active on every mailbox
# against the same load with no script (issue 15): end-to-end messages/s
# and youju's CPU per message, side by side in one run, and the ratio.
# Goal: the script costs < 10 %.  Called by bench/run.sh (`make bench`).
#
#   YOUJU_BIN         binaries to measure (default: build/bin)
#   BENCH_MESSAGES    messages per run (4000)
#   BENCH_MAILBOXES   mailboxes they are spread over (100)
#   BENCH_SESSIONS    concurrent SMTP sessions (10)
#   BENCH_ROUNDS      alternating rounds of each kind (2)
#   BENCH_TIMEOUT     seconds before the run is stopped (900)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${YOUJU_BIN:-$top/build/bin}
case $bin in /*) ;; *) bin=$top/$bin ;; esac
if [ ! -x "$bin/youju-mta" ]; then
	echo "bench/sieve: no youju binaries in $bin (make all)" >&2
	exit 1
fi
# the client is Postfix's smtp-source (bench/mta installs postfix)
if [ ! -x /usr/sbin/smtp-source ]; then
	echo "bench/sieve: /usr/sbin/smtp-source missing (apt-get install" \
		"postfix)" >&2
	exit 1
fi
timeout --foreground -k 15 "${BENCH_TIMEOUT:-900}" \
	python3 "$top/bench/sieve/bench.py" --bin "$bin" \
	--messages "${BENCH_MESSAGES:-4000}" \
	--mailboxes "${BENCH_MAILBOXES:-100}" \
	--sessions "${BENCH_SESSIONS:-10}" --rounds "${BENCH_ROUNDS:-2}"
