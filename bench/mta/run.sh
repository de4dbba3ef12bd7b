#!/bin/sh
# youju-mta vs Debian's Postfix + virtual(8) with mysql: maps (issue 4 item
# 11, issue 5 item 9): accepted messages/s, end-to-end messages/s (first
# connection to the last file in new/) and fsyncs per message, same load,
# same MariaDB, same machine, one run.  Called by bench/run.sh (`make
# bench`, which builds `all` first).
#
#   YOUJU_BIN         binaries to measure (default: build/bin)
#   BENCH_MESSAGES    messages per run (20000)
#   BENCH_MAILBOXES   mailboxes they are spread over (1000)
#   BENCH_SESSIONS    concurrent SMTP sessions (20)
#   BENCH_SIZE        message payload in bytes (4096)
#   BENCH_STRACE_MESSAGES  messages of the fsync-counting run (1000; 0: skip)
#   BENCH_TIMEOUT     seconds before the run is stopped (900)
#
# Bounded: after BENCH_TIMEOUT the driver gets SIGTERM (and SIGKILL 15 s
# later); it stops Postfix and the youju instance and removes both.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${YOUJU_BIN:-$top/build/bin}
case $bin in /*) ;; *) bin=$top/$bin ;; esac
if [ ! -x "$bin/youju-mta" ] || [ ! -x "$bin/youju" ]; then
	echo "bench/mta: no youju binaries in $bin (make all)" >&2
	exit 1
fi
# the peer: a bench-only dependency, so not in scripts/deps.sh.  Debian's
# postinst would configure the system instance; the bench never starts it
# (its own instance lives under /tmp on a private port).
if ! dpkg -s postfix postfix-mysql >/dev/null 2>&1; then
	echo "bench/mta: installing postfix postfix-mysql" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		postfix postfix-mysql >/dev/null || {
		echo "bench/mta: cannot install postfix postfix-mysql" >&2
		exit 1
	}
fi
for t in /usr/sbin/postfix /usr/sbin/smtp-source; do
	[ -x "$t" ] || { echo "bench/mta: $t missing" >&2; exit 1; }
done
timeout --foreground -k 15 "${BENCH_TIMEOUT:-900}" \
	python3 "$top/bench/mta/bench.py" --bin "$bin" \
	--messages "${BENCH_MESSAGES:-20000}" \
	--mailboxes "${BENCH_MAILBOXES:-1000}" \
	--sessions "${BENCH_SESSIONS:-20}" --size "${BENCH_SIZE:-4096}" \
	--strace-messages "${BENCH_STRACE_MESSAGES:-1000}"
