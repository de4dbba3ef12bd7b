#!/bin/sh
# Runs unit-test binaries, then fuzz-corpus replays, and prints one summary.
# Usage: run-unit.sh UNIT... -- FUZZ...
# Each fuzz binary (tests/fuzz/<dir>/fuzz_<p>.c built with replay.c) replays
# every file of tests/fuzz/<dir>/<p>.corpus/.
set -u
pass=0
fail=0
mode=unit
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
for t in "$@"; do
	if [ "$t" = "--" ]; then mode=fuzz; continue; fi
	if [ "$mode" = unit ]; then
		name=${t#*/unit/}
		if out=$("$t" 2>&1); then
			pass=$((pass + 1)); echo "ok   unit $name"
		else
			fail=$((fail + 1)); echo "FAIL unit $name"; echo "$out" | tail -30
		fi
	else
		rel=${t#*/fuzz/}                  # <dir>/fuzz_<p>
		dir=${rel%/*}; p=${rel##*/fuzz_}
		corpus=tests/fuzz/$dir/$p.corpus
		if out=$("$t" "$corpus" 2>&1); then
			pass=$((pass + 1)); echo "ok   fuzz-replay $rel"
		else
			fail=$((fail + 1)); echo "FAIL fuzz-replay $rel"; echo "$out" | tail -30
		fi
	fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
