#!/bin/sh
# Fails when a C file of the tree is not as .clang-format lays it out
# (clang-format --dry-run -Werror), naming each such file.  `make format`
# rewrites them.  Run by `make test` beside check-banned.
set -u
cd "$(dirname "$0")/.."
if ! command -v clang-format >/dev/null 2>&1; then
	echo "check-format: clang-format is not installed (scripts/deps.sh installs it)" >&2
	exit 1
fi
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	files=$(git ls-files '*.c' '*.h')
else
	files=$(find lib mta mra authd cli webadmin webmail mailgraph tests bench \
		-name '*.c' -o -name '*.h' 2>/dev/null)
fi
bad=0
for f in $files; do
	[ -f "$f" ] || continue
	if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
		echo "check-format: $f is not formatted (make format)"
		bad=$((bad + 1))
	fi
done
if [ "$bad" -ne 0 ]; then
	echo "check-format: $bad file(s) differ from .clang-format"
	exit 1
fi
echo "check-format: ok"
