#!/usr/bin/env bash
# bench/peers.sh: what poolshim costs next to the tools a user would run
# instead, on the same workloads (issue 13): wall time and peak RSS of each
# tool's run over the run of the program alone, in the same round.
# Usage: bash bench/peers.sh [BUILD_DIR]      (or: make bench-peers)
#   PEERS_ROUNDS=N     rounds (default 3); each round runs the program alone
#                      and under every tool, the order rotating between rounds
#   PEERS_TOOLS=...    default: poolshim poolshim-control heaptrack perf-record
#                      strace drd helgrind coz (a tool not installed is skipped)
#   PEERS_WORKLOADS=.. default: mutex_walk sysbench pigz
# Tools and commands (all Debian packages: valgrind, heaptrack, coz-profiler,
# linux-perf, strace):
#   poolshim           LD_PRELOAD=libpoolshim.so (defaults; summary off)
#   poolshim-control   the same with POOLSHIM_CONTROL=on
#   heaptrack          heaptrack -o FILE (allocation profiler)
#   perf-record        perf record -e cpu-clock -g -o FILE (sampling profiler,
#                      call graphs; software clock: this VM has no PMU)
#   strace             strace -f -qq -o FILE (every system call)
#   drd, helgrind      valgrind --tool=drd / helgrind (lock and race checkers)
#   coz                coz run --- (causal profiler; Debian's coz 0.2.2 cannot
#                      read DWARF 5, which gcc 12 writes: it fails on programs
#                      built here with -g, and the table says so)
# The valgrind tools and coz are 20-1000x slower, so they run a smaller size
# of each workload (the "small" rows), compared with the program alone at
# that same size in the same round; the others run the full size.
# Prints a Markdown table (median over rounds of the per-round ratio, min-max);
# raw samples in BUILD_DIR/bench/results/peers-samples.txt.
set -uo pipefail
if [ -n "${BENCH_FROM_MAKE:-}" ]; then
  echo "peers.sh: ~15-30 minutes, not part of make bench: run make bench-peers" >&2; exit 0
fi
B=${1:-build}
B=$(cd "$B" && pwd)
SHIM=$B/libpoolshim.so
ROUNDS=${PEERS_ROUNDS:-3}
TOOLS=${PEERS_TOOLS:-poolshim poolshim-control heaptrack perf-record strace drd helgrind coz}
WORKLOADS=${PEERS_WORKLOADS:-mutex_walk sysbench pigz}
[ -r "$SHIM" ] || { echo "peers.sh: $SHIM missing (run make)" >&2; exit 1; }
[ -x "$B/bench/mutex_walk" ] || { echo "peers.sh: $B/bench/mutex_walk missing (make bench)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "peers.sh: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }
TMP=$(mktemp -d /tmp/poolshim-peers.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
RAW=$B/bench/results/peers-samples.txt
mkdir -p "$(dirname "$RAW")"
: > "$RAW"
if [ -x "$B/bench/gendata" ]; then "$B/bench/gendata" 64 > "$TMP/data64"
else head -c $((48 << 20)) /dev/urandom | base64 > "$TMP/data64"; fi
head -c $((4 << 20)) "$TMP/data64" > "$TMP/data4"

# workload SIZE (full | small) -> command
cmd_of() {
  case $1.$2 in
    mutex_walk.full) echo "$B/bench/mutex_walk 4000000" ;;
    mutex_walk.small) echo "$B/bench/mutex_walk 200000" ;;
    sysbench.full) echo "sysbench threads --threads=2 --time=0 --events=2000 run" ;;
    sysbench.small) echo "sysbench threads --threads=2 --time=0 --events=50 run" ;;
    pigz.full) echo "pigz -p 2 -6 -c $TMP/data64" ;;
    pigz.small) echo "pigz -p 2 -6 -c $TMP/data4" ;;
  esac
}
slow() { case $1 in drd|helgrind|coz) return 0 ;; esac; return 1; }
have() {
  case $1 in
    poolshim|poolshim-control|none) return 0 ;;
    heaptrack) command -v heaptrack ;;
    perf-record) command -v perf && perf record -q -e cpu-clock -o "$TMP/probe.data" true 2>/dev/null ;;
    strace) command -v strace ;;
    drd|helgrind) command -v valgrind ;;
    coz) command -v coz ;;
  esac > /dev/null 2>&1
}
# tool -> the words before the command
prefix_of() {
  case $1 in
    none) echo "" ;;
    poolshim) echo "env LD_PRELOAD=$SHIM" ;;
    poolshim-control) echo "env LD_PRELOAD=$SHIM POOLSHIM_CONTROL=on" ;;
    heaptrack) echo "heaptrack -o $TMP/ht" ;;
    perf-record) echo "perf record -q -e cpu-clock -g -o $TMP/perf.data --" ;;
    strace) echo "strace -f -qq -o $TMP/strace.out" ;;
    drd) echo "valgrind -q --tool=drd" ;;
    helgrind) echo "valgrind -q --tool=helgrind" ;;
    coz) echo "coz run ---" ;;
  esac
}

tools=()
for t in $TOOLS; do
  if have "$t"; then tools+=("$t"); else echo "peers.sh: $t not available, skipped" >&2; fi
done
echo "peers.sh: $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ); $ROUNDS rounds; tools: ${tools[*]}" >&2
for w in $WORKLOADS; do
  case $w in sysbench|pigz) command -v "$w" > /dev/null || { echo "peers.sh: $w not installed, skipped" >&2; continue; } ;; esac
  for ((r = 0; r < ROUNDS; r++)); do
    # every (tool, size) pair of this round, with "none" at both sizes, rotated
    jobs=("none full" "none small")
    for t in "${tools[@]}"; do
      if slow "$t"; then jobs+=("$t small"); else jobs+=("$t full"); fi
    done
    nj=${#jobs[@]}
    for ((k = 0; k < nj; k++)); do
      read -r t size <<< "${jobs[$(((k + r) % nj))]}"
      rm -rf "$TMP/dir" "$TMP"/ht* "$TMP/perf.data" "$TMP/strace.out" profile.coz 2>/dev/null; mkdir -p "$TMP/dir"
      # wall: the shell's clock around the run (/usr/bin/time's %e has 10 ms
      # steps, too coarse for the small runs); peak RSS: its %M
      t0=$EPOCHREALTIME
      # shellcheck disable=SC2046
      (cd "$TMP/dir" && /usr/bin/time -f '%M' -o "$TMP/t" env POOLSHIM_DIR="$TMP/dir" POOLSHIM_SUMMARY=off \
          $(prefix_of "$t") $(cmd_of "$w" "$size") > /dev/null 2> "$TMP/err") ||
        { echo "peers.sh: $w/$t failed: $(tail -2 "$TMP/err" | tr '\n' ' ')" >&2; continue; }
      wall=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.4f", b - a }')
      echo "$w $size $t $r $wall $(tail -1 "$TMP/t") $(cut -d' ' -f1 /proc/loadavg)" >> "$RAW"
    done
  done
done
echo "peers.sh: load after: $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ); samples in $RAW" >&2
python3 - "$RAW" <<'EOF'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
runs, order = {}, []
for w, size, t, r, wall, rss, load in rows:
    runs[(w, size, t, int(r))] = (float(wall), int(rss) / 1024, float(load))
    if (w, size, t) not in order:
        order.append((w, size, t))
print("| workload | size | tool | rounds | wall s (median) | wall / alone: median (min-max) | peak RSS MiB | RSS / alone | load 1-min |")
print("|---|---|---|---|---|---|---|---|---|")
for w, size, t in sorted(order, key=lambda k: (k[0], k[1], k[2] != "none", k[2])):
    rs = sorted(r for (a, b, c, r) in runs if (a, b, c) == (w, size, t))
    walls = [runs[(w, size, t, r)][0] for r in rs]
    rss = [runs[(w, size, t, r)][1] for r in rs]
    base = [(runs[(w, size, t, r)], runs[(w, size, "none", r)]) for r in rs if (w, size, "none", r) in runs]
    ratio = [a[0] / b[0] for a, b in base if b[0] > 0]
    rr = [a[1] / b[1] for a, b in base if b[1] > 0]
    rt = "-" if t == "none" or not ratio else "%.2f (%.2f-%.2f)" % (st.median(ratio), min(ratio), max(ratio))
    rrt = "-" if t == "none" or not rr else "%.2f" % st.median(rr)
    print("| %s | %s | %s | %d | %.3f | %s | %.1f | %s | %.1f |" % (
        w, size, t, len(rs), st.median(walls), rt, st.median(rss), rrt, st.median(runs[(w, size, t, r)][2] for r in rs)))
EOF
