#!/bin/sh
# Runs every test stage of `make test` even when one fails, then prints the
# grand total as the closing line "total: N passed, N failed".
# Usage: test-all.sh MAKE [MAKEFLAGS...]
set -u
MK=${1:-make}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
p=0; f=0
count() { # parse the stage's own "N passed, N failed" line
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	sp=$(echo "$line" | awk '{for (i = 2; i <= NF; i++) if ($i ~ /^passed/) print $(i-1)}')
	sf=$(echo "$line" | awk '{for (i = 2; i <= NF; i++) if ($i ~ /^failed/) print $(i-1)}')
	p=$((p + ${sp:-0})); f=$((f + ${sf:-0}))
}
if $MK --no-print-directory check-banned; then p=$((p + 1)); else f=$((f + 1)); fi
if $MK --no-print-directory check-format; then p=$((p + 1)); else f=$((f + 1)); fi
for stage in unit integration; do
	echo "=== $stage"
	$MK --no-print-directory $stage 2>&1 | tee "$log"

	if ! grep -qE '[0-9]+ passed, [0-9]+ failed' "$log"; then
		echo "$stage: produced no result line (build failure?)"
		f=$((f + 1))
	else
		count
	fi

done
echo "total: $p passed, $f failed"
[ "$f" -eq 0 ]
