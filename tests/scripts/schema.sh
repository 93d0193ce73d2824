#!/usr/bin/env bash
# The JSON Schemas in docs/schema/ against the files the shim and the analyzer
# really write: reports (control on, a deadlock, CPython, jemalloc), dumps
# (the shim's signal capture, `poolshim dump PID` by ptrace with and without
# the shim), and, when scripts/test.sh ran the integration tests with
# PS_TEST_FILES, every report and dump those tests left. Then files
# changed the way a drifting writer would change them, which must fail.
# Usage: tests/scripts/schema.sh BUILD_DIR
set -uo pipefail
B=${1:-build}
cd "$(dirname "$0")/../.."
B=$(cd "$B" && pwd)
pass=0 fail=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
ko() { echo "FAIL: $*"; fail=$((fail + 1)); }
CHECK="python3 tests/scripts/schema_check.py"
D=$(mktemp -d /tmp/poolshim-schema.XXXXXX)
trap 'rm -rf "$D"' EXIT
shim() { (cd "$D" && env LD_PRELOAD="$B/libpoolshim.so" POOLSHIM_DIR="$D" POOLSHIM_SUMMARY=off "$@") >/dev/null 2>>"$D/err"; }

shim POOLSHIM_CONTROL=on "$B/fixtures/condvar_pool" --threads 4 --tasks 100
shim "$B/fixtures/deadlock" --run-ms 600
shim POOLSHIM_MALLOC=jemalloc POOLSHIM_DUMP_BLOCKED_MS=50 "$B/fixtures/deadlock" --run-ms 600
shim python3 "$PWD/tests/fixtures/py_tpe.py" --mode sleep --threads 4 --tasks 40 --ms 5
# `poolshim dump PID`: a process under the shim (its picture merged) and one without it.
(cd "$D" && LD_PRELOAD="$B/libpoolshim.so" POOLSHIM_DIR="$D" POOLSHIM_SUMMARY=off "$B/fixtures/deadlock" --run-ms 4000 >/dev/null 2>&1) &
for _ in $(seq 100); do   # a loaded machine may take a while to start it
  dl=$(pgrep -n -f "fixtures/deadlock --run-ms 4000") && [ -n "$(ls "$D"/poolshim.$dl.dump.* 2>/dev/null)" ] && break
  sleep 0.1
done
"$B/poolshim" dump --dir "$D" "$dl" >/dev/null 2>>"$D/err" ||
  ko "poolshim dump of a process under the shim failed: $(tail -1 "$D/err")"
sleep 3 & sl=$!
"$B/poolshim" dump --dir "$D" $sl >/dev/null 2>>"$D/err" || ko "poolshim dump of sleep failed: $(tail -1 "$D/err")"
wait
reports=$(ls "$D"/poolshim.*.json 2>/dev/null | grep -vc dump)
dumps=$(ls "$D"/poolshim.*.dump.*.json 2>/dev/null | wc -l)
ptrace=$(grep -l '"method":"ptrace"' "$D"/poolshim.*.dump.*.json 2>/dev/null | wc -l)
jem=$(grep -l '"allocator":"jemalloc"' "$D"/poolshim.*.dump.*.json 2>/dev/null | wc -l)
[ "$reports" -ge 4 ] && [ "$dumps" -ge 5 ] && [ "$ptrace" -ge 2 ] && [ "$jem" -ge 1 ] &&
  ok "files to check: $reports reports, $dumps dumps ($ptrace by ptrace, $jem with jemalloc)" ||
  ko "expected >= 4 reports, >= 5 dumps, 2 by ptrace, 1 with jemalloc; got $reports, $dumps, $ptrace, $jem: $(tail -3 "$D/err")"
out=$($CHECK "$D" 2>&1) && ok "$out" || ko "fresh files: $out"

if [ -n "${PS_TEST_FILES:-}" ] && [ -d "$PS_TEST_FILES" ]; then
  n=$(find "$PS_TEST_FILES" -name 'poolshim.*.json' | wc -l)
  if [ "$n" -gt 0 ]; then
    out=$($CHECK "$PS_TEST_FILES" 2>&1) && ok "integration tests' files: $out" || ko "integration tests' files: $out"
  else
    ko "PS_TEST_FILES=$PS_TEST_FILES holds no report or dump"
  fi
fi

# Drift: each change below is what a writer change without a schema change looks like.
R=$(ls "$D"/poolshim.*.json | grep -v dump | head -1)
X=$(ls "$D"/poolshim.*.dump.*.json | head -1)
mkdir -p "$D/bad"
i=0
drift() {   # FILE JQ-FILTER WHAT
  i=$((i + 1))
  jq -c "$2" "$1" > "$D/bad/poolshim.$i.json" && echo "$3" > "$D/bad/what.$i"
}
drift "$R" '.version = 2' "another version"
drift "$R" '.pools[0].new_key = 1' "a key the schema does not know"
drift "$R" 'del(.pools[0].tasks)' "a key dropped"
drift "$R" '.pools[0].cpu_s = null' "null where the writer never writes null"
drift "$R" '.threads[0].wait_by_cause.runqueue = "0.1"' "a number as a string"
drift "$R" '.pools[0].classification = "busy"' "a classification not in the list"
drift "$R" '.controller.decisions_total = -1' "a negative count"
drift "$X" '.threads[0].stack[0].addr = 140000' "an address as a number"
drift "$X" '.threads[0].blocked_on = {"kind": "mutex"}' "blocked_on without its keys"
drift "$X" '.allocations.stats.extra = 1' "an allocation stat the schema does not know"
drift "$X" '.capture.method = "gdb"' "a capture method not in the list"
for k in $(seq 1 $i); do
  out=$($CHECK --expect-invalid "$D/bad/poolshim.$k.json" 2>&1) && ok "rejected: $(cat "$D/bad/what.$k")" ||
    ko "not rejected: $(cat "$D/bad/what.$k"): $out"
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
