#!/usr/bin/env bash
# The quick cases of the real-program truth suite (tests/truth/run.sh): the
# report against a separate process that samples /proc from outside.
set -uo pipefail
bash "$(dirname "$0")/../truth/run.sh" "${1:-build}" quick
rc=$?
[ $rc -eq 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit $rc
