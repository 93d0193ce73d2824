#!/usr/bin/env bash
# The bundled demo: a condvar pool of 4 workers whose tasks are 2 ms CPU + 8 ms
# I/O-like sleep, run under the shim; then the analyzer reads its report.
set -euo pipefail
B=${1:-build}
dir=$(mktemp -d /tmp/poolshim-demo.XXXXXX)
echo "== running $B/fixtures/condvar_pool under libpoolshim.so (files in $dir)"
POOLSHIM_DIR="$dir" LD_PRELOAD="$(cd "$B" && pwd)/libpoolshim.so" "$B/fixtures/condvar_pool" --threads 4 --tasks 200 --cpu-ms 2 --io-ms 8
report=$(ls "$dir"/poolshim.*.json | head -n 1)
echo
echo "== $B/poolshim report $report"
"$B/poolshim" report "$report"
