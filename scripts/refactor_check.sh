#!/usr/bin/env bash
# refactor_check.sh BASE_REV [BUILD_DIR]: is a change that should not change
# behaviour really without effect? Builds BASE_REV in a scratch worktree and
# compares it with the working tree's build on what must not move:
#   1. every controller unit test's decision log (simulated time: exact);
#   2. instructions per call under the shim on bench/percall's paths
#      (callgrind: mutex, hot mutex, semaphore, read, condvar ping-pong).
#      read varies 203 / 215 / 217 and condvar 960-1035 between runs of one
#      build (whether the agent has calibrated the TSC yet in so short a run,
#      and valgrind's thread interleaving): compare several runs there.
# Prints both and exits non-zero if any decision log differs.
set -euo pipefail
BASE=${1:?usage: scripts/refactor_check.sh BASE_REV [BUILD_DIR]}
B=$(cd "${2:-build}" && pwd)
cd "$(dirname "$0")/.."
WT=$(mktemp -d /tmp/poolshim-base.XXXXXX)
trap 'git worktree remove --force "$WT" >/dev/null 2>&1 || rm -rf "$WT"' EXIT
git worktree add -f --detach "$WT" "$BASE" >/dev/null
nice make -C "$WT" -j2 build/libpoolshim.so build/tests/unit_tests build/bench/percall >/dev/null
nice make -j2 B="${B#$PWD/}" "${B#$PWD/}/libpoolshim.so" "${B#$PWD/}/tests/unit_tests" "${B#$PWD/}/bench/percall" >/dev/null

decisions() {   # UNIT_BIN: each controller test's sizes over time and decisions
  local bin=$1 t
  for t in $("$bin" --list 2>/dev/null | sed -n '/^controller:/,/^[a-z]/p' | grep '── ' | sed 's/.*── //'); do
    echo "### $t"
    CTL_TRACE=1 "$bin" --jobs 1 --filter "controller/$t" 2>&1 | grep -E '^TRACE|^  [0-9]' || true
  done
}
percall() {     # BUILD: instructions per call under the shim
  local b=$1 m log out ir calls
  log=$(mktemp); out=$(mktemp)
  for m in mutex hotmutex sem read condvar; do
    LD_PRELOAD=$b/libpoolshim.so POOLSHIM_SUMMARY=off POOLSHIM_DUMP=off POOLSHIM_DIR=/tmp \
      valgrind --tool=callgrind --fair-sched=yes --callgrind-out-file=/dev/null --toggle-collect="loop_$m" \
      "$b/bench/percall" --rounds 1 --scale 0.1 --count "$m" > "$out" 2> "$log"
    ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$log")
    calls=$(awk -v m="$m" '$1 == "calls" && $2 == m { print $3 }' "$out")
    awk -v m="$m" -v ir="$ir" -v c="$calls" 'BEGIN { printf "%s %.1f\n", m, c ? ir / c : 0 }'
  done
  rm -f "$log" "$out"
}

decisions "$WT/build/tests/unit_tests" > "$WT/decisions.base"
decisions "$B/tests/unit_tests" > "$WT/decisions.now"
echo "instructions per call under the shim: $BASE -> working tree"
join <(percall "$WT/build") <(percall "$B") | awk '{ printf "  %-9s %8.1f -> %8.1f (%+.1f %%)\n", $1, $2, $3, ($3 - $2) * 100 / $2 }'
n=$(grep -c '^###' "$WT/decisions.now")
if diff "$WT/decisions.base" "$WT/decisions.now"; then
  echo "controller decision logs: $n tests, identical"
else
  echo "controller decision logs differ (above)"; exit 1
fi
