#!/usr/bin/env bash
# Runs every test suite of the README's test command; exits non-zero if any fails.
# Usage: scripts/test.sh BUILD_DIR
set -uo pipefail
B=${1:-build}
export POOLSHIM_BUILD=$(cd "$B" && pwd)
fail=0
run() {
  echo "== $*"
  "$@" || fail=1
}
[ -x "$B/tests/unit_tests" ] && run "$B/tests/unit_tests" --jobs 2
# Integration tests run one at a time: they time real programs on 2 cores.
[ -x "$B/tests/integration_tests" ] && run "$B/tests/integration_tests" --jobs 1
for s in tests/scripts/*.sh; do
  [ -e "$s" ] || continue
  run bash "$s" "$B"
done
exit $fail
