#!/usr/bin/env bash
# Memory checkers in the test command: the shim's modules under ASan+UBSan (the
# unit tests link them directly, built by `make SAN=asan`), and the analyzer
# under valgrind on real reports and dumps. The whole suites under SAN=asan and
# SAN=tsan are `make SAN=asan test` / `make SAN=tsan test` (docs/support.md).
# Usage: tests/scripts/sanitizers.sh BUILD_DIR
set -uo pipefail
B=${1:-build}
cd "$(dirname "$0")/../.."
pass=0 fail=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
ko() { echo "FAIL: $*"; fail=$((fail + 1)); }
# Every test passed, and the only complaint is a leak allocated by Criterion
# itself, in its runner, after the synthesis (its allocation stack's caller
# is libcriterion): 48 bytes, once in about 7 runs on a loaded machine, not
# ours. A leak in a test's own code has that code as the caller.
criterion_leak_only() {
  echo "$1" | grep -q 'Failing: 0 | Crashing: 0' || return 1
  echo "$1" | python3 -c '
import re, sys
text = sys.stdin.read()
if "runtime error" in text or "ERROR: AddressSanitizer" in text:
    sys.exit(1)
blocks = re.findall(r"(?:Direct|Indirect) leak of .*?\n((?:\s+#\d+ .*\n?)+)", text)
ok = blocks and all(re.search(r"#1 .*libcriterion\.so", b) for b in blocks)
sys.exit(0 if ok else 1)'
}

if make --no-print-directory SAN=asan build-asan/tests/unit_tests >/tmp/poolshim-asan-build.log 2>&1; then
  if out=$(build-asan/tests/unit_tests --jobs 2 2>&1); then
    ok "unit tests under ASan+UBSan: $(echo "$out" | grep -o 'Tested: [0-9]*' | tail -1)"
  elif criterion_leak_only "$out"; then
    ok "unit tests under ASan+UBSan: $(echo "$out" | grep -o 'Tested: [0-9]*' | tail -1) (Criterion's runner leaked, not a test)"
  else
    ko "unit tests under ASan+UBSan"; echo "$out" | grep -E "FAIL|ERROR|runtime error" | head -20
  fi
else
  ko "ASan build of the unit tests"; tail -20 /tmp/poolshim-asan-build.log
fi

if [ "$(basename "$B")" != build ]; then
  echo "valgrind part skipped: $B is a sanitizer build (valgrind runs on the plain build)"
elif ! command -v valgrind >/dev/null; then
  ko "valgrind missing (scripts/deps.sh installs it)"
else
  for args in "report tests/data/real_controlled.report.json" "report --json tests/data/real_controlled.report.json" \
              "show tests/data/real_deadlock.dump.json" "show --folded tests/data/real_request.dump.json" \
              "show --json tests/data/dump_cycles.json" "report /nonexistent.json"; do
    valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
      "$B/poolshim" $args >/dev/null 2>/tmp/poolshim-vg.log
    st=$?
    if [ $st -eq 99 ] || grep -q "==[0-9]*==" /tmp/poolshim-vg.log; then
      ko "valgrind: poolshim $args"; grep "==[0-9]*==" /tmp/poolshim-vg.log | head -10
    else
      ok "valgrind clean: poolshim $args (exit $st)"
    fi
  done
  d=$(mktemp -d)
  if valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
       "$B/poolshim" report --html "$d/page.html" tests/data/real_controlled.report.json >/dev/null 2>/tmp/poolshim-vg.log \
     && ! grep -q "==[0-9]*==" /tmp/poolshim-vg.log && [ -s "$d/page.html" ]; then
    ok "valgrind clean: poolshim report --html"
  else
    ko "valgrind: poolshim report --html"; grep "==[0-9]*==" /tmp/poolshim-vg.log | head -10
  fi
  rm -rf "$d"
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
