#!/bin/sh
# Fails when C sources call a function STYLE.md bans.
set -u
pat='\b(strcpy|strcat|strncpy|strncat|sprintf|vsprintf|gets|strtok|atoi|atol)[[:space:]]*\('
hits=$(grep -nE "$pat" $(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]') 2>/dev/null \
	| grep -vE '^[^:]+:[0-9]+:[[:space:]]*(\*|/\*|//)' \
	| grep -v 'check-banned: allow')
if [ -n "$hits" ]; then
	echo "banned functions (STYLE.md):"; echo "$hits"; exit 1
fi
echo "check-banned: ok"
