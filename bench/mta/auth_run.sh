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
#   BENCH_ROUNDS     rounds of BENCH_MESSAGES per server, in ABBA order (1)
#   BENCH_TIMEOUT    seconds before the run is stopped (900 per round)
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
# the bench starts its own private Postfix and OpenDKIM; Debian's services
# of the packages it installs are stopped and disabled (those of packages
# installed before are the administrator's: named, not touched)
quiet_service() {
	if [ -d /run/systemd/system ]; then
		systemctl disable --now "$1" >/dev/null 2>&1
	else
		invoke-rc.d "$1" stop >/dev/null 2>&1
		update-rc.d "$1" disable >/dev/null 2>&1
	fi
}
if [ -n "$need" ]; then
	echo "bench/mta: installing$need" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need >/dev/null ||
		{ echo "bench/mta: cannot install$need" >&2; exit 1; }
	for s in postfix opendkim; do
		case " $need " in *" $s "*) quiet_service "$s" ;; esac
	done
fi
for s in postfix opendkim; do
	if ls /etc/rc[2-5].d/S[0-9][0-9]"$s" >/dev/null 2>&1 ||
		[ -e /etc/systemd/system/multi-user.target.wants/"$s".service ]; then
		echo "bench/mta: note: Debian's $s service is enabled" \
			"(the bench uses its own private instance)" >&2
	fi
done
rounds=${BENCH_ROUNDS:-1}
timeout --foreground -k 15 "${BENCH_TIMEOUT:-$((900 * rounds))}" \
	python3 "$top/bench/mta/auth_bench.py" --bin "$bin" \
	--messages "${BENCH_MESSAGES:-5000}" \
	--mailboxes "${BENCH_MAILBOXES:-200}" \
	--sessions "${BENCH_SESSIONS:-20}" --rounds "$rounds"
