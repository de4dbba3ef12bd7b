#!/bin/sh
# youju-mta vs Postfix + OpenDKIM + policyd-spf on mail from other servers
# with DKIM verification and SPF (issue 16): accepted messages/s and the
# ratio, same signed message, same DNS server, same machine, one run.  Not
# part of `make test`; run by hand (as root):
#
#   bench/mta/auth_run.sh
#
#   YOUJU_BIN        binaries to measure (default: build/bin)
#   BENCH_MESSAGES   messages per server (5000)
#   BENCH_MAILBOXES  mailboxes they are spread over (200)
#   BENCH_SESSIONS   concurrent SMTP sessions (20)
#   BENCH_TIMEOUT    seconds before the run is stopped (900)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${YOUJU_BIN:-$top/build/bin}
case $bin in /*) ;; *) bin=$top/$bin ;; esac
if [ ! -x "$bin/youju-mta" ]; then
	echo "bench/mta: no youju binaries in $bin (make all)" >&2
	exit 1
fi
# the peers: bench-only dependencies, so not in scripts/deps.sh
need=""
for p in postfix postfix-mysql opendkim postfix-policyd-spf-python \
	python3-dkim; do
	dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"
done
if [ -n "$need" ]; then
	echo "bench/mta: installing$need" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need >/dev/null ||
		{ echo "bench/mta: cannot install$need" >&2; exit 1; }
fi
timeout --foreground -k 15 "${BENCH_TIMEOUT:-900}" \
	python3 "$top/bench/mta/auth_bench.py" --bin "$bin" \
	--messages "${BENCH_MESSAGES:-5000}" \
	--mailboxes "${BENCH_MAILBOXES:-200}" \
	--sessions "${BENCH_SESSIONS:-20}"
