#!/bin/sh
# youju-webmail: the message list of a 50,000-message folder, by date, by
# from and by arrival, with and without youju.index; opening a message;
# a search by subject; memory per
# logged-in session (sessions.py); login and page 1 against Roundcube over
# a private Dovecot and over youju-mra, all on the same mailbox
# (roundcube.py: installs Debian's roundcube-core, roundcube-sqlite3,
# php-cli when missing; needs root) (issue 12).
#   YOUJU_BIN       binaries (default: build/bin)
#   BENCH_MESSAGES  messages in the folder (50000)
#   BENCH_REPEAT    requests per measurement (20)
#   BENCH_BEFORE    an older youju-webmail to run side by side (bench.py)
#   BENCH_ROUNDS    turns of each build per phase (2 with BENCH_BEFORE)
#   BENCH_SESSIONS  sessions for the memory measurement (1000)
#   BENCH_RC_MESSAGES  messages for the Roundcube comparison (10000)
#   BENCH_ROUNDCUBE=0  skips the Roundcube comparison
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${YOUJU_BIN:-$top/build/bin}
case $bin in /*) ;; *) bin=$top/$bin ;; esac
if [ ! -x "$bin/youju-webmail" ]; then
	echo "bench/webmail: no youju-webmail in $bin (make all)" >&2
	exit 1
fi
timeout -k 15 ${BENCH_TIMEOUT:-600} python3 "$top/bench/webmail/bench.py" "$bin"
rc=$?
timeout -k 15 ${BENCH_TIMEOUT:-600} python3 "$top/bench/webmail/sessions.py" "$bin" || rc=$?
if [ "${BENCH_ROUNDCUBE:-1}" != 0 ]; then
	timeout -k 15 ${BENCH_TIMEOUT:-600} python3 "$top/bench/webmail/roundcube.py" "$bin" || rc=$?
fi
exit $rc
