#!/bin/sh
# youju-mra vs Debian's Dovecot 2.3 (issue 6, item 4) over the same
# Maildirs in one run: IMAP FETCH and POP3 RETR throughput, memory per
# idling IMAP connection.  Called by bench/run.sh (`make bench`, which
# builds `all` first).  Needs root: both servers drop to vmail.
#
#   YOUJU_BIN            binaries to measure (default: build/bin)
#   BENCH_MESSAGES       messages in the mailbox (10000)
#   BENCH_IMAP_CLIENTS   concurrent IMAP clients (20)
#   BENCH_POP3_CLIENTS   concurrent POP3 clients, one mailbox each (4)
#   BENCH_IDLE           idling IMAP connections (5000)
#   BENCH_PHASES         which loads (imap,pop3,idle)
#   BENCH_TIMEOUT        seconds before the run is stopped (1500)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${YOUJU_BIN:-$top/build/bin}
case $bin in /*) ;; *) bin=$top/$bin ;; esac
if [ ! -x "$bin/youju-mra" ] || [ ! -x "$bin/youju" ]; then
	echo "bench/mra: no youju binaries in $bin (make all)" >&2
	exit 1
fi
if [ ! -x /usr/sbin/dovecot ]; then
	echo "bench/mra: /usr/sbin/dovecot missing (apt-get install" \
		"dovecot-imapd dovecot-pop3d)" >&2
	exit 1
fi
tmp=$(mktemp -d /tmp/youju-bench-mraload.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
if ! cc -O2 -std=c11 -D_GNU_SOURCE -o "$tmp/mraload" \
	"$top/bench/mra/mraload.c" -lpthread; then
	echo "bench/mra: cannot compile mraload.c" >&2
	exit 1
fi
# thousands of sockets in the client and in both servers
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
timeout --foreground -k 15 "${BENCH_TIMEOUT:-1500}" \
	python3 "$top/bench/mra/bench.py" --bin "$bin" --load "$tmp/mraload" \
	--messages "${BENCH_MESSAGES:-10000}" \
	--imap-clients "${BENCH_IMAP_CLIENTS:-20}" \
	--pop3-clients "${BENCH_POP3_CLIENTS:-4}" \
	--idle "${BENCH_IDLE:-5000}" --phases "${BENCH_PHASES:-imap,pop3,idle}"
