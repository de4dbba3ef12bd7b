#!/bin/sh
# Creates and runs the parts of a youju instance that are files and foreign
# programs: directories, youju.cf, the TLS certificate, the vmail user and
# the private MariaDB (DESIGN §4).  Called by `youju start|stop|status`,
# which exports the YOUJU_* settings it read from youju.cf.
#
#   instance.sh init       idempotent: never re-initialises existing data
#   instance.sh db-start   start the private MariaDB (init on first use)
#   instance.sh db-stop
#   instance.sh db-status
set -eu

: "${YOUJU_HOME:?YOUJU_HOME is not set}"
H=$YOUJU_HOME
: "${YOUJU_CONFIG_DIR:=$H/etc}"
: "${YOUJU_RUN_DIR:=$H/run}"
: "${YOUJU_QUEUE_DIR:=$H/spool}"
: "${YOUJU_MAILBOX_BASE:=$H/mailbox}"
: "${YOUJU_LOG_FILE:=$H/log/maillog}"
: "${YOUJU_MAIL_OWNER:=vmail}"
: "${YOUJU_MYHOSTNAME:=localhost}"
: "${YOUJU_MYSQL_SOCKET:=$YOUJU_RUN_DIR/mysqld/mysqld.sock}"
: "${YOUJU_MYSQL_DBNAME:=extmail}"
: "${YOUJU_MYSQL_USER:=extmail}"
: "${YOUJU_MYSQL_PASSWORD_FILE:=$YOUJU_CONFIG_DIR/secrets/mysql-extmail}"
: "${YOUJU_WEBADMIN_MYSQL_USER:=webman}"
: "${YOUJU_WEBADMIN_MYSQL_PASSWORD_FILE:=$YOUJU_CONFIG_DIR/secrets/mysql-webman}"
: "${YOUJU_TLS_CERT:=$YOUJU_CONFIG_DIR/tls/youju.crt}"
: "${YOUJU_TLS_KEY:=$YOUJU_CONFIG_DIR/tls/youju.key}"
: "${YOUJU_AUTHD_SOCKET:=$YOUJU_RUN_DIR/authdaemon/socket}"
: "${YOUJU_MYSQL_PRIVATE:=yes}"

SCRIPTS=$(cd "$(dirname "$0")" && pwd)
if [ -n "${YOUJU_SQLDIR:-}" ]; then SQL=$YOUJU_SQLDIR
elif [ -d "$SCRIPTS/../sql" ]; then SQL=$SCRIPTS/../sql
else SQL=$SCRIPTS/../../share/youju/sql; fi
export YOUJU_SQLDIR="$SQL" # for db-migrate.sh, installed or not

DB=$H/db
# MariaDB's temporary tables: per instance, not the shared /tmp (two
# bootstraps at once there have collided on their temporary table names)
DBTMP=$H/db-tmp
DBRUN=$(dirname "$YOUJU_MYSQL_SOCKET")
DBPID=$DBRUN/mysqld.pid
DBLOG=$H/log/mariadb.err
ME=$(id -un)
ROOT=no
[ "$(id -u)" -eq 0 ] && ROOT=yes

say() { echo "instance: $*"; }

# The account daemons drop to (DESIGN §4); the private MariaDB runs as the
# packaged mysql user, never as root.
owner_setup() {
	[ $ROOT = yes ] || return 0
	if ! getent passwd "$YOUJU_MAIL_OWNER" >/dev/null; then
		useradd --system --user-group --no-create-home \
			--home-dir /nonexistent --shell /usr/sbin/nologin \
			"$YOUJU_MAIL_OWNER"
		say "created user $YOUJU_MAIL_OWNER"
	fi
}

dirs_setup() {
	umask 022
	mkdir -p "$H" "$YOUJU_CONFIG_DIR" "$YOUJU_RUN_DIR" "$H/log" "$H/rrd" \
		"$YOUJU_QUEUE_DIR" "$YOUJU_MAILBOX_BASE" \
		"$(dirname "$YOUJU_AUTHD_SOCKET")"
	mkdir -p -m 0700 "$YOUJU_CONFIG_DIR/secrets"
	chmod 0700 "$YOUJU_CONFIG_DIR/secrets"
	# the socket directory's mode is the access control (courier's way)
	chmod 0750 "$(dirname "$YOUJU_AUTHD_SOCKET")"
	touch "$YOUJU_LOG_FILE"
	chmod 0640 "$YOUJU_LOG_FILE"
	if [ $ROOT = yes ]; then
		chown "$YOUJU_MAIL_OWNER:$YOUJU_MAIL_OWNER" \
			"$YOUJU_QUEUE_DIR" "$YOUJU_MAILBOX_BASE" "$H/log" \
			"$H/rrd" "$YOUJU_LOG_FILE" \
			"$(dirname "$YOUJU_AUTHD_SOCKET")"
	fi
}

conf_setup() {
	cf=$YOUJU_CONFIG_DIR/youju.cf
	[ -f "$cf" ] && return 0
	cat >"$cf" <<CF
# youju.cf — Postfix main.cf syntax.  Every parameter has a default:
# "youju conf -d" lists them, "youju conf -n" shows what this file changes,
# "youju conf -e name=value" edits this file.  See docs/configuration.md.
#
# Created on first start.  Listening addresses are development defaults on
# 127.0.0.1 (DESIGN §4); production sets them to the standard ports.
CF
	say "created $cf"
}

tls_setup() {
	[ -f "$YOUJU_TLS_CERT" ] && [ -f "$YOUJU_TLS_KEY" ] && return 0
	mkdir -p "$(dirname "$YOUJU_TLS_CERT")" "$(dirname "$YOUJU_TLS_KEY")"
	(umask 077 && openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
		-subj "/CN=$YOUJU_MYHOSTNAME" \
		-addext "subjectAltName=DNS:$YOUJU_MYHOSTNAME,DNS:localhost,IP:127.0.0.1" \
		-keyout "$YOUJU_TLS_KEY" -out "$YOUJU_TLS_CERT" 2>/dev/null)
	chmod 0600 "$YOUJU_TLS_KEY"
	chmod 0644 "$YOUJU_TLS_CERT"
	say "created a self-signed certificate for $YOUJU_MYHOSTNAME"
}

# Client invocation as the database administrator: root through the
# unix_socket plugin, mapped to the OS user that created the instance.
DBADMIN=root
[ $ROOT = yes ] || DBADMIN=$ME
dbadmin() {
	mariadb --no-defaults --socket="$YOUJU_MYSQL_SOCKET" -u"$DBADMIN" "$@"
}

db_running() {
	[ -f "$DBPID" ] && kill -0 "$(cat "$DBPID")" 2>/dev/null
}

db_wait() {
	i=0
	while [ $i -lt 300 ]; do
		if mariadb-admin --no-defaults --socket="$YOUJU_MYSQL_SOCKET" \
			-u"$DBADMIN" ping >/dev/null 2>&1; then return 0; fi
		db_running || [ $i -lt 20 ] || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

gen_password() {
	# 24 random bytes, base64 without characters a shell or SQL would mind
	openssl rand -base64 24 | tr -d '/+=\n'
}

db_secret() { # FILE -> the password, made on first use
	if [ ! -s "$1" ]; then
		(umask 077 && gen_password >"$1")
	fi
	chmod 0600 "$1"
	cat "$1"
}

db_init() {
	[ -d "$DB/mysql" ] && return 0
	say "creating the private MariaDB in $DB"
	mkdir -p "$DB" "$DBTMP"
	if [ $ROOT = yes ]; then
		chown mysql:mysql "$DB" "$DBTMP"
		set -- --user=mysql
	else
		set -- --auth-root-socket-user="$ME"
	fi
	mariadb-install-db --no-defaults --datadir="$DB" --tmpdir="$DBTMP" \
		--auth-root-authentication-method=socket "$@" \
		--skip-test-db >"$H/log/mariadb-install.log" 2>&1 || {
		cat "$H/log/mariadb-install.log" >&2
		rm -rf "$DB"
		return 1
	}
}

db_start() {
	db_running && return 0
	db_init
	mkdir -p "$DBRUN" "$DBTMP"
	[ $ROOT = yes ] && chown mysql:mysql "$DBRUN" "$DB" "$DBTMP"
	[ $ROOT = yes ] && set -- --user=mysql || set --
	# no TCP at all: the socket in run/ is the only way in
	setsid mariadbd --no-defaults --datadir="$DB" --tmpdir="$DBTMP" \
		--socket="$YOUJU_MYSQL_SOCKET" --pid-file="$DBPID" \
		--skip-networking --log-error="$DBLOG" \
		--innodb-buffer-pool-size=64M --skip-name-resolve \
		--character-set-server=utf8mb4 \
		--collation-server=utf8mb4_general_ci "$@" \
		</dev/null >/dev/null 2>&1 &
	if ! db_wait; then
		say "MariaDB did not come up; see $DBLOG" >&2
		tail -20 "$DBLOG" >&2 || true
		return 1
	fi
	db_schema
}

# Creates the database, the ExtMail accounts (extmail: SELECT, UPDATE for
# authd; webman: read/write for webadmin, as ExtMail's GRANTs) and loads the
# schema and demo data once; migrations run on every start.
db_schema() {
	extpw=$(db_secret "$YOUJU_MYSQL_PASSWORD_FILE")
	webpw=$(db_secret "$YOUJU_WEBADMIN_MYSQL_PASSWORD_FILE")
	d=$YOUJU_MYSQL_DBNAME
	fresh=no
	if ! dbadmin -N -B -e "SHOW DATABASES LIKE '$d'" | grep -q .; then
		fresh=yes
	fi
	dbadmin <<SQL
CREATE DATABASE IF NOT EXISTS \`$d\`;
CREATE USER IF NOT EXISTS '$YOUJU_MYSQL_USER'@'localhost';
ALTER USER '$YOUJU_MYSQL_USER'@'localhost' IDENTIFIED BY '$extpw';
GRANT SELECT, UPDATE ON \`$d\`.* TO '$YOUJU_MYSQL_USER'@'localhost';
CREATE USER IF NOT EXISTS '$YOUJU_WEBADMIN_MYSQL_USER'@'localhost';
ALTER USER '$YOUJU_WEBADMIN_MYSQL_USER'@'localhost' IDENTIFIED BY '$webpw';
GRANT SELECT, INSERT, UPDATE, DELETE ON \`$d\`.* TO '$YOUJU_WEBADMIN_MYSQL_USER'@'localhost';
SQL
	if [ $fresh = yes ]; then
		dbadmin "$d" <"$SQL/schema.sql"
		dbadmin "$d" <"$SQL/init.sql"
		say "loaded the ExtMail schema and demo data into '$d'"
	fi
	sh "$SCRIPTS/db-migrate.sh" up -- --no-defaults \
		--socket="$YOUJU_MYSQL_SOCKET" -u"$DBADMIN" "$d" >/dev/null
}

db_stop() {
	db_running || return 0
	pid=$(cat "$DBPID")
	mariadb-admin --no-defaults --socket="$YOUJU_MYSQL_SOCKET" -u"$DBADMIN" \
		shutdown >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -9 "$pid" 2>/dev/null || true
	fi
	echo "mariadb: stopped"
}

case "${1:-}" in
init)
	owner_setup
	dirs_setup
	conf_setup
	tls_setup
	;;
db-start) db_start ;;
db-stop) db_stop ;;
db-status)
	if db_running; then
		printf '%-16s running (pid %s)\n' mariadb "$(cat "$DBPID")"
	else
		printf '%-16s not running\n' mariadb
		exit 3
	fi
	;;
*)
	echo "usage: instance.sh init|db-start|db-stop|db-status" >&2
	exit 2
	;;
esac
