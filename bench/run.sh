#!/bin/sh
# `make bench`: runs every bench/<name>/run.sh, each of which measures youju
# and its peer (Postfix, Dovecot, courier-authdaemon) under the same load in
# one run and prints the ratio.  Benchmarks are never part of `make test`.
set -u
cd "$(dirname "$0")"
found=0
for b in */run.sh; do
	[ -f "$b" ] || continue
	found=1
	echo "=== bench: ${b%/run.sh}"
	sh "$b" || echo "bench ${b%/run.sh}: failed"
done
[ $found -eq 1 ] || echo "no benchmarks yet"
