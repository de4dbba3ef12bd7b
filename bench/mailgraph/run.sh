#!/bin/sh
# youju-mailgraph --cat against Debian's mailgraph.pl on the same
# generated 1,000,000-line maillog (bench.py).  BENCH_LINES, BENCH_DAYS.
set -eu
cd "$(dirname "$0")"
exec python3 bench.py
