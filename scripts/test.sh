#!/usr/bin/env bash
# Runs every test suite of the README's test command; exits non-zero if any fails.
# Usage: scripts/test.sh BUILD_DIR
set -uo pipefail
B=${1:-build}
export POOLSHIM_BUILD=$(cd "$B" && pwd)
fail=0
failed=()
log=$(mktemp)
# Every report and dump the integration tests leave is kept here for
# tests/scripts/schema.sh, which validates them against docs/schema/.
export PS_TEST_FILES=$(mktemp -d /tmp/poolshim-test-files.XXXXXX)
trap 'rm -f "$log"; rm -rf "$PS_TEST_FILES"' EXIT
# What a failure said, in a few lines: a CI log keeps only its tail, where
# the summary below is, so the summary carries each failure's reason too
# (Criterion's assertion text, a sanitizer's verdict), not just its name.
why() {
  grep -E '^\[FAIL\]|^ *(FAIL|not ok)|^\[----\] +[^ ]|^==[0-9]+==ERROR|^SUMMARY:|runtime error' "$1" |
    grep -v '^\[----\] *$' | head -12 | tr '\n' ' '
}
run() {
  echo "== $*"
  "$@" 2>&1 | tee "$log" || { fail=1; failed+=("$*: $(why "$log")"); }
}
[ -x "$B/tests/unit_tests" ] && run "$B/tests/unit_tests" --jobs 2
[ -x "$B/tests/throttle_tests" ] && run "$B/tests/throttle_tests"
# Integration tests run one at a time: they time real programs on 2 cores.
[ -x "$B/tests/integration_tests" ] && run "$B/tests/integration_tests" --jobs 1
for s in tests/scripts/*.sh; do
  [ -e "$s" ] || continue
  run bash "$s" "$B"
done
# The failing suites again at the end, where a CI log's tail shows them.
for f in ${failed[@]+"${failed[@]}"}; do echo "FAILED: $f"; done
exit $fail
