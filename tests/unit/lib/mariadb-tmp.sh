#!/bin/sh
# Throw-away MariaDB server for unit tests (tests/unit/lib/test_sqlpool.c).
#
#   mariadb-tmp.sh start   creates a data dir under $TMPDIR, starts mariadbd
#                          on a Unix socket only (no TCP) and prints three
#                          lines: the directory, the socket path, the pid
#   mariadb-tmp.sh stop DIR
#                          shuts that server down and removes DIR
#
# root logs in through unix_socket auth as the user running this script.
# Nothing under /etc/mysql is read (--no-defaults).
set -eu

start() {
	dir=$(mktemp -d "${TMPDIR:-/tmp}/youju-mariadb.XXXXXX")
	user=$(id -un)
	runas=""
	if [ "$(id -u)" -eq 0 ]; then
		# mariadbd refuses to run as root without --user
		runas="--user=mysql"
		chown mysql: "$dir"
		chmod 700 "$dir"
	fi
	# a private tmpdir: servers sharing /tmp trip over each other's
	# "#sql-temptable-*" files
	mkdir "$dir/tmp"
	[ -z "$runas" ] || chown mysql: "$dir/tmp"
	if ! TMPDIR="$dir/tmp" mariadb-install-db --no-defaults \
		--datadir="$dir/data" $runas \
		--auth-root-authentication-method=socket \
		--auth-root-socket-user="$user" --skip-test-db \
		>"$dir/install.log" 2>&1; then
		cat "$dir/install.log" >&2
		rm -rf "$dir"
		exit 1
	fi
	TMPDIR="$dir/tmp" mariadbd --no-defaults --datadir="$dir/data" $runas \
		--tmpdir="$dir/tmp" \
		--socket="$dir/sock" --skip-networking \
		--pid-file="$dir/mariadbd.pid" --log-error="$dir/error.log" \
		--innodb-buffer-pool-size=16M --innodb-log-file-size=8M \
		--skip-log-bin --performance-schema=OFF \
		>/dev/null 2>&1 </dev/null &
	i=0
	while [ ! -S "$dir/sock" ] || [ ! -s "$dir/mariadbd.pid" ]; do
		i=$((i + 1))
		if [ "$i" -gt 300 ]; then
			echo "mariadb-tmp: server did not start" >&2
			cat "$dir/error.log" >&2 || true
			stop "$dir"
			exit 1
		fi
		sleep 0.1
	done
	echo "$dir"
	echo "$dir/sock"
	cat "$dir/mariadbd.pid"
}

stop() {
	dir=$1
	case $dir in
	*/youju-mariadb.*) ;;
	*) echo "mariadb-tmp: refusing to remove $dir" >&2; exit 1 ;;
	esac
	if [ -s "$dir/mariadbd.pid" ]; then
		pid=$(cat "$dir/mariadbd.pid")
		kill -CONT "$pid" 2>/dev/null || true
		kill -TERM "$pid" 2>/dev/null || true
		i=0
		while kill -0 "$pid" 2>/dev/null; do
			i=$((i + 1))
			if [ "$i" -gt 200 ]; then
				kill -KILL "$pid" 2>/dev/null || true
				break
			fi
			sleep 0.1
		done
	fi
	rm -rf "$dir"
}

case ${1:-} in
start) start ;;
stop) [ $# -eq 2 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }
	stop "$2" ;;
*) echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
