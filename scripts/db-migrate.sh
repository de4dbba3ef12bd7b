#!/bin/sh
# db-migrate.sh - apply or revert youju's numbered SQL migrations.
#
# usage: db-migrate.sh up [N]   [-- CLIENT_ARGS...]
#        db-migrate.sh down N   [-- CLIENT_ARGS...]
#        db-migrate.sh status   [-- CLIENT_ARGS...]
#
#   up [N]    apply every migration not yet recorded (only those <= N if
#             N is given), in ascending order
#   down N    revert applied migrations above version N, newest first
#             (down 0 leaves ExtMail's tables only)
#   status    list applied and pending migrations; print nothing else
#
# CLIENT_ARGS go to the MySQL client unchanged, first on its command line
# (so --defaults-file= works), e.g.
#     db-migrate.sh up -- --socket=var/run/mysqld.sock -uroot extmail
#
# Migrations are sql/migrations/NNNN-name.sql (NNNN: four digits, the
# version; name: [a-z0-9_-]), each with a NNNN-name.down.sql that undoes
# it.  The applied ones are recorded in the table youju_schema_version
# (version, name, applied_at), which this script creates when it is
# missing.  A migration and its bookkeeping row are sent in one client
# session; the row is written only if every statement succeeded.  MySQL
# commits DDL at once, so a migration that fails half-way stays half
# applied: fix the cause, undo the part that ran, and run "up" again.
# Do not run two instances of this script on one database at a time.
#
# Environment:
#   YOUJU_SQLDIR  directory holding migrations/ (default: the sql/ folder
#                 beside this script's folder; installed: PREFIX/share/youju/sql)
#   YOUJU_MYSQL   client program (default: mariadb, else mysql)
#
# Exit status: 0 success, 1 failure, 2 usage error.

set -u
LC_ALL=C
export LC_ALL

prog="db-migrate"

usage() {
	echo "usage: $0 up [N] | down N | status [-- MYSQL_CLIENT_ARGS...]" >&2
	exit 2
}

die() {
	echo "$prog: $*" >&2
	exit 1
}

note() {
	echo "$prog: $*" >&2
}

# is_uint STRING: true when STRING is a non-empty run of digits.
is_uint() {
	case $1 in
	'' | *[!0-9]*) return 1 ;;
	esac
	return 0
}

# to_int DIGITS: print DIGITS without leading zeros (shell arithmetic would
# read 0008 as a bad octal number).
to_int() {
	_n=$(printf '%s\n' "$1" | sed 's/^0*//')
	printf '%s\n' "${_n:-0}"
}

# shell_quote STRING: print STRING quoted for eval.
shell_quote() {
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

# ---- arguments ----------------------------------------------------------

[ $# -ge 1 ] || usage
cmd=$1
shift
target=
case $cmd in
up)
	if [ $# -ge 1 ] && [ "$1" != "--" ]; then
		is_uint "$1" || usage
		target=$(to_int "$1")
		shift
	fi
	;;
down)
	[ $# -ge 1 ] || usage
	is_uint "$1" || usage
	target=$(to_int "$1")
	shift
	;;
status)
	;;
-h | --help | help)
	usage
	;;
*)
	usage
	;;
esac
if [ $# -ge 1 ]; then
	[ "$1" = "--" ] || usage
	shift
fi

client_args=
for a in "$@"; do
	client_args="$client_args $(shell_quote "$a")"
done

if [ -n "${YOUJU_MYSQL:-}" ]; then
	mysql_prog=$YOUJU_MYSQL
elif command -v mariadb >/dev/null 2>&1; then
	mysql_prog=mariadb
else
	mysql_prog=mysql
fi
command -v "$mysql_prog" >/dev/null 2>&1 ||
    die "MySQL client '$mysql_prog' not found (set YOUJU_MYSQL)"

if [ -n "${YOUJU_SQLDIR:-}" ]; then
	sqldir=$YOUJU_SQLDIR
else
	sqldir=$(dirname "$0")/../sql
fi
migdir=$sqldir/migrations
[ -d "$migdir" ] || die "no migrations directory: $migdir (set YOUJU_SQLDIR)"

# client [EXTRA_ARGS...]: run the MySQL client with the user's arguments
# first, then ours, reading SQL on stdin.
client() {
	eval "\"\$mysql_prog\" $client_args --batch --skip-column-names \"\$@\""
}

# query SQL: run one statement, print its rows (tab-separated).
query() {
	client -e "$1"
}

# ---- the migrations on disk ---------------------------------------------
# files: lines "VERSION NAME", ascending.

files=
seen=" "
for f in "$migdir"/[0-9][0-9][0-9][0-9]-*.sql; do
	[ -e "$f" ] || continue
	base=${f##*/}
	case $base in
	*.down.sql) continue ;;
	esac
	num=${base%%-*}
	name=${base#????-}
	name=${name%.sql}
	case $name in
	'' | *[!a-z0-9_-]*)
		die "bad migration file name: $base (want NNNN-[a-z0-9_-].sql)"
		;;
	esac
	v=$(to_int "$num")
	[ "$v" -gt 0 ] || die "bad migration version 0: $base"
	case $seen in
	*" $v "*) die "two migrations with version $num in $migdir" ;;
	esac
	seen="$seen$v "
	[ -f "$migdir/$num-$name.down.sql" ] ||
	    die "$base has no $num-$name.down.sql"
	files="$files$v $name
"
done

# name_of VERSION: print the name of migration VERSION, nothing if none.
name_of() {
	printf '%s' "$files" | awk -v v="$1" '$1 == v { print $2 }'
}

# path_of VERSION NAME [.down]: print the file of a migration.
path_of() {
	printf '%s/%04d-%s%s.sql\n' "$migdir" "$1" "$2" "${3:-}"
}

# ---- the database's state -----------------------------------------------

version_table_exists() {
	_n=$(query "SELECT COUNT(*) FROM information_schema.tables
	    WHERE table_schema = DATABASE()
	    AND table_name = 'youju_schema_version'") ||
	    die "cannot query the database (check the client arguments)"
	[ "$_n" = 1 ]
}

create_version_table() {
	# The same definition as migrations/0001-youju-schema-version.sql.
	query "CREATE TABLE IF NOT EXISTS youju_schema_version (
		version int NOT NULL,
		name varchar(255) NOT NULL DEFAULT '',
		applied_at datetime DEFAULT NULL,
		PRIMARY KEY (version)
	    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
	    COMMENT='youju - applied schema migrations'" ||
	    die "cannot create table youju_schema_version"
}

# applied: lines "VERSION NAME APPLIED_AT", ascending.
load_applied() {
	if version_table_exists; then
		applied=$(query "SELECT version, name,
		    IFNULL(DATE_FORMAT(applied_at, '%Y-%m-%dT%H:%i:%s'), '-')
		    FROM youju_schema_version ORDER BY version") ||
		    die "cannot read youju_schema_version"
	else
		applied=
	fi
}

is_applied() {
	printf '%s\n' "$applied" | awk -v v="$1" '
	    $1 == v { found = 1 } END { exit !found }'
}

db=$(query "SELECT IFNULL(DATABASE(), '')") ||
    die "cannot connect (check the client arguments after --)"
[ -n "$db" ] || die "no database selected: name it after -- (e.g. extmail)"

# ---- commands -----------------------------------------------------------

do_status() {
	load_applied
	printf '%s\n' "$applied" | while read -r v name at; do
		[ -n "$v" ] || continue
		if [ -n "$(name_of "$v")" ]; then
			printf 'applied  %04d  %s  %s\n' "$v" "$name" "$at"
		else
			printf 'applied  %04d  %s  %s  (no file here)\n' \
			    "$v" "$name" "$at"
		fi
	done
	printf '%s' "$files" | while read -r v name; do
		is_applied "$v" || printf 'pending  %04d  %s\n' "$v" "$name"
	done
	current=$(printf '%s\n' "$applied" | awk '
	    $1 + 0 > max { max = $1 + 0 } END { print max + 0 }')
	printf 'database %s at version %d\n' "$db" "$current"
}

do_up() {
	create_version_table
	load_applied
	n=0
	# Read the list from a here-document, not a pipe, so that a failure
	# can exit the script.
	while read -r v name; do
		[ -n "$v" ] || continue
		is_applied "$v" && continue
		if [ -n "$target" ] && [ "$v" -gt "$target" ]; then
			continue
		fi
		f=$(path_of "$v" "$name")
		[ -r "$f" ] || die "cannot read $f"
		note "applying $(printf '%04d' "$v") $name"
		# The migration must end its last statement with ";".
		{
			cat "$f"
			printf '\nINSERT INTO youju_schema_version'
			printf ' (version, name, applied_at)'
			printf " VALUES (%d, '%s', NOW());\n" "$v" "$name"
		} | client ||
		    die "migration $(printf '%04d' "$v") $name failed; nothing recorded"
		n=$((n + 1))
	done <<EOF
$files
EOF
	note "$n migration(s) applied to $db"
}

do_down() {
	load_applied
	list=$(printf '%s\n' "$applied" | awk -v t="$target" '
	    NF && $1 + 0 > t + 0 { print $1 }' | sort -rn)
	n=0
	for v in $list; do
		name=$(name_of "$v")
		[ -n "$name" ] ||
		    die "version $v is applied but has no migration file here"
		down=$(path_of "$v" "$name" .down)
		[ -r "$down" ] || die "cannot read $down"
		note "reverting $(printf '%04d' "$v") $name"
		client < "$down" ||
		    die "revert of $(printf '%04d' "$v") $name failed"
		# 0001's down drops the bookkeeping table itself.
		if version_table_exists; then
			query "DELETE FROM youju_schema_version
			    WHERE version = $v" ||
			    die "cannot unrecord version $v"
		fi
		n=$((n + 1))
	done
	note "$n migration(s) reverted on $db"
}

case $cmd in
up) do_up ;;
down) do_down ;;
status) do_status ;;
esac
