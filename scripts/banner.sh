#!/bin/sh
# Printed by `make run`: where the instance listens and the demo accounts.
# Only services whose daemon has been built are listed.
set -u
B=${YOUJU_BIN:-build/bin}
Y=$B/youju
get() { "$Y" conf -h -x "$1" 2>/dev/null || echo "?"; }
has() { [ -x "$B/$1" ]; }
echo
echo "youju is running (instance: ${YOUJU_HOME:-var})"
echo
if has youju-mta; then
	echo "  SMTP         $(get smtp_listen)"
	echo "  submission   $(get submission_listen)   (STARTTLS, AUTH)"
	echo "  SMTPS        $(get smtps_listen)"
fi
if has youju-mra; then
	echo "  POP3 / POP3S $(get pop3_listen) / $(get pop3s_listen)"
	echo "  IMAP / IMAPS $(get imap_listen) / $(get imaps_listen)"
	echo "  ManageSieve  $(get managesieve_listen)   (STARTTLS; docs/sieve.md)"
fi
has youju-webmail && echo "  webmail      http://$(get webmail_listen)/"
if has youju-webadmin; then
	scheme=http
	[ "$(get webadmin_tls)" = yes ] && scheme=https
	echo "  webadmin     $scheme://$(get webadmin_listen)/   (root@extmail.org; API: docs/webadmin.md)"
fi
has youju-mailgraph && echo "  mailgraph    $(get mailgraph_rrd_directory)   (graphs: webadmin /api/graphs/; docs/mailgraph.md)"
has youju-authd && echo "  authd socket $(get authd_socket)"
echo "  MariaDB      $(get mysql_socket)  (database $(get mysql_dbname))"
echo "  mail log     $(get log_file)"
if has youju-mta && "$Y" dkim show extmail.org >/dev/null 2>&1; then
	echo
	echo "DKIM: publish this record for the demo domain (youju dkim show DOMAIN):"
	"$Y" dkim show extmail.org | sed 's/^/  /'
fi
cat <<TXT

Demo accounts (ExtMail's init.sql) — CHANGE THESE PASSWORDS before real use:
  mailbox      postmaster@extmail.org / extmail
  alias        support@extmail.org -> postmaster@extmail.org
  super admin  root@extmail.org / extmail*123*
  e.g.  $Y auth passwd postmaster@extmail.org

"make status" lists the daemons; "make stop" stops everything, MariaDB too.
TXT
