#!/usr/bin/env bash
# bench/agent.sh: what the shim's own thread (the agent) costs per live thread
# (issue 13: <= 2 % of a core at 1,000 threads at the default interval, and
# flat per thread from 100 to 8,000). Runs bench/idle_threads under the shim
# for N = 100, 1000, 4000, 8000, 10000 threads blocked on a condvar (a pool's idle
# workers) and in nanosleep, and prints, per N: the agent's CPU as a share of
# one core, its ticks per second (the default interval is 100 ms: 10/s; fewer
# means it stretched its interval, agent.c), its CPU per thread per tick, and
# the whole process's CPU with the shim and without it over the same window.
# ~1-2 minutes. Usage: bash bench/agent.sh [BUILD_DIR]
#   AGENT_SIZES="100 1000 4000 8000 10000"   AGENT_SECONDS=4   AGENT_WAITS="cond sleep"
set -uo pipefail
B=${1:-build}
B=$(cd "$B" && pwd)
BIN=$B/bench/idle_threads
[ -x "$BIN" ] || { echo "agent.sh: $BIN missing (make bench)" >&2; exit 1; }
SIZES=${AGENT_SIZES:-100 1000 4000 8000 10000}
SECONDS_=${AGENT_SECONDS:-4}
WAITS=${AGENT_WAITS:-cond sleep}
TMP=$(mktemp -d /tmp/poolshim-agent.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
echo "agent.sh: $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "| threads blocked in | N | agent, % of a core | ticks/s | agent us per thread per tick | process CPU ms/s with / without | load 1-min |"
echo "|---|---|---|---|---|---|---|"
for w in $WAITS; do
  for n in $SIZES; do
    with=$(POOLSHIM_DIR="$TMP" POOLSHIM_SUMMARY=off POOLSHIM_DUMP=off LD_PRELOAD="$B/libpoolshim.so" \
           "$BIN" --wait "$w" --seconds "$SECONDS_" "$n" 2> /dev/null)
    without=$("$BIN" --wait "$w" --seconds "$SECONDS_" "$n" 2> /dev/null)
    load=$(cut -d' ' -f1 /proc/loadavg)
    python3 - "$w" "$n" "$with" "$without" "$load" <<'EOF'
import json, sys
w, n, a, b, load = sys.argv[1:]
try:
    a, b = json.loads(a), json.loads(b)
except ValueError:
    print("| %s | %s | (failed) | | | | %s |" % (w, n, load)); sys.exit()
print("| %s | %s | %.2f | %.1f | %.3f | %.1f / %.1f | %s |" % (
    "condvar" if w == "cond" else "nanosleep", n, a["agent_pct"], a["agent_ticks"] / a["seconds"],
    a["agent_us_per_thread_tick"], a["process_ms"] / a["seconds"], b["process_ms"] / b["seconds"], load))
EOF
  done
done
echo "agent.sh: load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
