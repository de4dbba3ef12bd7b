#!/bin/sh
# Installs, only when missing, the Debian 12 packages that youju's build, run
# and tests need.  A second call only asks dpkg and costs well under a second.
# Package services (mariadb, courier-authdaemon, fail2ban, mailgraph) are
# kept from starting on install: youju runs its own private instances, and
# the tests use only the log readers (pflogsumm, fail2ban-regex, mailgraph
# --cat).  chromium, chromium-driver, python3-selenium and a CJK font
# (fonts-wqy-microhei, for the zh_CN screenshots) run the console's browser
# test; python3-prometheus-client parses webadmin's /metrics in
# test_mailgraph_web.py; strace checks the order of the queue's flushes
# (test_queue_sync) and counts them in bench/mta; python3-milter runs a
# test milter, rspamd the GTUBE test, publicsuffix is DMARC's list.
set -eu

PKGS="build-essential pkg-config libmicrohttpd-dev libmariadb-dev mariadb-server
mariadb-client libsasl2-dev libsasl2-modules sasl2-bin libssl-dev librrd-dev
rrdtool fonts-dejavu-core libjansson-dev libpcre2-dev libgumbo-dev libcrypt-dev
zlib1g-dev
python3 swaks libnet-ssleay-perl
curl openssl clang-format strace
courier-authdaemon courier-authlib-mysql maildrop util-linux procps iproute2
dovecot-imapd dovecot-pop3d fetchmail isync offlineimap sieve-connect
pflogsumm fail2ban mailgraph
python3-dkim postgrey opendkim clamav-daemon clamav-milter
python3-milter rspamd publicsuffix
chromium chromium-driver python3-selenium fonts-wqy-microhei
python3-prometheus-client"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
		echo "deps: missing packages:$missing (run as root or install them)" >&2
		exit 1
	fi
else
	SUDO=""
fi
echo "deps: installing:$missing"
# policy-rc.d 101 = "do not start services": the packaged daemons must not
# grab the system sockets or ports; youju starts private copies.
prc=/usr/sbin/policy-rc.d
created=0
if [ ! -e "$prc" ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$prc" >/dev/null
	$SUDO chmod 755 "$prc"
	created=1
fi
trap '[ $created -eq 1 ] && $SUDO rm -f "$prc"' EXIT
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
