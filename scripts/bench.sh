#!/usr/bin/env bash
# make bench: what the shim costs, measured side by side in one run.
#   1. per-call costs (build/bench/percall): rounds of N calls timed inside the
#      process, runs with and without LD_PRELOAD interleaved (ABBA order);
#   2. the same paths counted by callgrind (instructions per call, noise-free);
#   3. whole-run wall time of real workloads (pigz -p 2 on generated data, pools
#      of tiny tasks), again interleaved with and without the shim.
# Then every bench/*.sh other engineers add, each as `bash FILE BUILD_DIR`.
# Raw samples and the summary table go to BUILD_DIR/bench/results/.
# Usage: scripts/bench.sh BUILD_DIR        (BENCH_PAIRS=N for more or fewer pairs;
#        BENCH_CORE_ONLY=1: this table only, not the other bench/*.sh)
set -uo pipefail
B=${1:-build}
B=$(cd "$B" && pwd)
SHIM=$B/libpoolshim.so
BIN=$B/bench
OUT=$BIN/results
PAIRS=${BENCH_PAIRS:-6}
fail=0
[ -r "$SHIM" ] || { echo "bench: $SHIM missing (run make)" >&2; exit 1; }
for p in percall tinypool gendata mutex_walk; do
  [ -x "$BIN/$p" ] || { echo "bench: $BIN/$p missing (run make bench)" >&2; exit 1; }
done
rm -rf "$OUT"; mkdir -p "$OUT/reports"
RAW=$OUT/samples.txt          # lines: variant measure value
: > "$RAW"
# The shim as a user runs it (advise mode, agent sampling, report at exit),
# writing its reports into our results directory, summary kept out of the way,
# and without saturation dumps: the pools here pile up work on purpose, so the
# default config would take a dump in some runs and not others (a dump's cost
# is bench/dump.sh's subject); this measures what measuring costs.
with()    { POOLSHIM_DIR=$OUT/reports POOLSHIM_SUMMARY=off POOLSHIM_DUMP=off LD_PRELOAD=$SHIM "$@"; }
without() { "$@"; }

echo "bench: machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), kernel $(uname -r)"
echo "bench: load before start: $(cut -d' ' -f1-3 /proc/loadavg)"
t_start=$EPOCHREALTIME

# ---- 1. per-call costs -------------------------------------------------------
echo "bench: per-call costs, $PAIRS pairs of runs x 15 rounds"
percall_run() {   # variant
  local v=$1 line
  "$v" "$BIN/percall" --rounds 15 > "$OUT/percall.tmp" || { echo "bench: percall failed ($v)" >&2; fail=1; return; }
  while read -r m ns; do echo "$v $m $ns" >> "$RAW"; done < "$OUT/percall.tmp"
}
for ((i = 0; i < PAIRS; i++)); do
  if ((i % 2 == 0)); then percall_run without; percall_run with; else percall_run with; percall_run without; fi
done

# ---- 2. callgrind instruction counts -----------------------------------------
CG=$OUT/callgrind.txt        # lines: variant measure instructions_per_call
: > "$CG"
if command -v valgrind >/dev/null; then
  echo "bench: callgrind instruction counts"
  for m in mutex hotmutex sem read condvar; do
    for v in without with; do
      log=$OUT/cg.$m.$v.log
      "$v" valgrind --tool=callgrind --fair-sched=yes --callgrind-out-file=/dev/null --toggle-collect="loop_$m" \
        "$BIN/percall" --rounds 1 --scale 0.1 --count "$m" > "$OUT/cg.tmp" 2> "$log"
      ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$log")
      calls=$(awk -v m="$m" '$1 == "calls" && $2 == m { print $3 }' "$OUT/cg.tmp")
      if [ -n "$ir" ] && [ -n "$calls" ] && [ "$calls" -gt 0 ]; then
        awk -v v="$v" -v m="$m" -v ir="$ir" -v c="$calls" 'BEGIN { printf "%s %s %.1f\n", v, m, ir / c }' >> "$CG"
      else
        echo "bench: callgrind failed for $m ($v), see $log" >&2
      fi
    done
  done
  # A whole pool, noise-free: instructions per task of tinypool's ~7 us tasks.
  # Two runs (2000 and 6000 tasks; callgrind is ~50x slower than the timed
  # run) so the difference is the cost per task without the fixed costs
  # (the shim's start-up symbol binding, its report at exit), shown apart.
  for v in without with; do
    irs=()
    for n in 2000 6000; do
      log=$OUT/cg.tinypool.$n.$v.log
      "$v" valgrind --tool=callgrind --fair-sched=yes --callgrind-out-file=/dev/null \
        "$BIN/tinypool" --threads 4 --tasks $n --work 5000 > /dev/null 2> "$log"
      irs+=("$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$log")")
    done
    if [ -n "${irs[0]}" ] && [ -n "${irs[1]}" ]; then
      for m in tinypool_100k_7us tinypool_100k_7us_cpu; do
        awk -v v="$v" -v m="$m" -v a="${irs[0]}" -v b="${irs[1]}" \
          'BEGIN { printf "%s %s %.0f\n", v, m, (b - a) / 4000 }' >> "$CG"
      done
      awk -v v="$v" -v a="${irs[0]}" -v b="${irs[1]}" \
        'BEGIN { printf "%s fixed %.0f\n", v, a - 2000 * (b - a) / 4000 }' >> "$CG"
    else
      echo "bench: callgrind failed for tinypool ($v), see $OUT/cg.tinypool.*.$v.log" >&2
    fi
  done
else
  echo "bench: valgrind not installed: no instruction counts"
fi

# ---- 3. whole-run overheads --------------------------------------------------
DATA=$OUT/data.txt
"$BIN/gendata" 64 > "$DATA" || { echo "bench: gendata failed" >&2; exit 1; }
timed() {   # variant measure command...: appends wall time and CPU time (user+sys) in seconds
  local v=$1 m=$2 st; shift 2
  local TIMEFORMAT='%R %U %S'
  { time "$v" "$@" > /dev/null 2>> "$OUT/whole.err"; } 2> "$OUT/time.tmp"
  st=$?
  if [ $st -ne 0 ]; then
    echo "bench: $m failed ($v, status $st): $*" >&2; fail=1; return
  fi
  awk -v v="$v" -v m="$m" '{ printf "%s %s %.3f\n%s %s_cpu %.3f\n", v, m, $1, v, m, $2 + $3 }' \
    "$OUT/time.tmp" >> "$RAW"
}
# Budget: make bench (with the other bench/*.sh, ~40 s) must end within 5
# minutes even on a loaded machine; after 3 pairs of a workload, no new pair
# starts once 150 s have passed since the start (a pair of pigz runs takes
# ~30 s at a load average of 20). The table says how many samples each row has.
over_budget() { awk -v a="$t_start" -v b="$EPOCHREALTIME" 'BEGIN { exit !(b - a > 150) }'; }
budget_said=0
whole_pair() {   # i measure command...
  if (($1 >= 3)) && over_budget; then
    ((budget_said++)) || echo "bench: time budget reached: no more pairs of whole runs"
    return
  fi
  local i=$1; shift
  if ((i % 2 == 0)); then timed without "$@"; timed with "$@"; else timed with "$@"; timed without "$@"; fi
}
echo "bench: whole runs, up to $PAIRS pairs each"
for ((i = 0; i < PAIRS; i++)); do
  whole_pair "$i" pigz_64MB pigz -p 2 -c "$DATA"
  whole_pair "$i" tinypool_100k_7us "$BIN/tinypool" --threads 4 --tasks 100000 --work 5000
  whole_pair "$i" condvar_pool_20k_50us "$B/fixtures/condvar_pool" --threads 4 --tasks 20000 --cpu-ms 0.05 --io-ms 0
  whole_pair "$i" tinypool_100k_0.3us "$BIN/tinypool" --threads 4 --tasks 100000 --work 300
  whole_pair "$i" mutex_walk_4M "$BIN/mutex_walk" 4000000
done
rm -f "$DATA" "$OUT/percall.tmp" "$OUT/cg.tmp" "$OUT/time.tmp"

# ---- summary -----------------------------------------------------------------
# Per measure: median and min of each variant, the difference of medians, the
# target and whether it is met. Per-call targets are in ns added, whole runs in
# percent added.
TABLE=$OUT/summary.md
awk -v cgfile="$CG" '
  function median(arr, n,   i, j, t) {
    for (i = 2; i <= n; i++) { t = arr[i]; for (j = i - 1; j >= 1 && arr[j] > t; j--) arr[j + 1] = arr[j]; arr[j + 1] = t }
    return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
  }
  BEGIN {
    while ((getline line < cgfile) > 0) { split(line, f, " "); cg[f[1], f[2]] = f[3] }
    target["mutex"] = 5;  unit["mutex"] = "ns"; label["mutex"] = "mutex lock+unlock, uncontended (ns/pair)"
    target["hotmutex"] = ""; unit["hotmutex"] = "ns"; label["hotmutex"] = "mutex lock+unlock, a mutex once contended, one thread (ns/pair)"
    target["sem"] = "";   unit["sem"] = "ns";   label["sem"] = "sem_post+sem_wait, uncontended (ns/pair)"
    target["read"] = 60;  unit["read"] = "ns";  label["read"] = "read 1 byte from /dev/zero (ns/call)"
    target["condvar"] = ""; unit["condvar"] = "ns"; label["condvar"] = "condvar ping-pong, 2 threads (ns/round trip)"
    target["contended"] = ""; unit["contended"] = "ns"; label["contended"] = "mutex, 2 threads contending (ns/pair)"
    target["pigz_64MB"] = 3; unit["pigz_64MB"] = "s"; label["pigz_64MB"] = "pigz -p 2, 64 MiB generated text (s)"
    target["tinypool_100k_7us"] = 3; unit["tinypool_100k_7us"] = "s"; label["tinypool_100k_7us"] = "tinypool: 4 workers, 100k tasks of ~7 us (s)"
    target["condvar_pool_20k_50us"] = 3; unit["condvar_pool_20k_50us"] = "s"; label["condvar_pool_20k_50us"] = "condvar_pool: 4 workers, 20k tasks of 0.05 ms CPU (s)"
    target["tinypool_100k_0.3us"] = ""; unit["tinypool_100k_0.3us"] = "s"; label["tinypool_100k_0.3us"] = "tinypool: 4 workers, 100k tasks of ~0.3 us (s)"
    target["mutex_walk_4M"] = 30; unit["mutex_walk_4M"] = "s"; label["mutex_walk_4M"] = "mutex_walk: 2 threads, 64 mutexes once contended, 4M pairs each (s)"
    nw = split("pigz_64MB tinypool_100k_7us condvar_pool_20k_50us tinypool_100k_0.3us mutex_walk_4M", whole, " ")
    for (i = 1; i <= nw; i++) {
      w = whole[i]; c = w "_cpu"
      target[c] = target[w]; unit[c] = "s"; label[c] = label[w]; sub(/ \(s\)$/, " (CPU s, user+sys)", label[c])
      sub(/ \(s\)$/, " (wall s)", label[w])
    }
    norder = split("mutex hotmutex sem read condvar contended pigz_64MB pigz_64MB_cpu tinypool_100k_7us tinypool_100k_7us_cpu condvar_pool_20k_50us condvar_pool_20k_50us_cpu tinypool_100k_0.3us tinypool_100k_0.3us_cpu mutex_walk_4M mutex_walk_4M_cpu", order, " ")
  }
  { k = $1 SUBSEP $2; n[k]++; v[k, n[k]] = $3 }
  END {
    print "| measure | samples per side | without: median (min) | with: median (min) | difference of medians (of mins) | target | met? (median / min) | callgrind instructions per call (whole runs: per task) without → with |"
    print "|---|---|---|---|---|---|---|---|"
    for (o = 1; o <= norder; o++) {
      m = order[o]
      if (!n["without", m] || !n["with", m]) continue
      for (s = 1; s <= 2; s++) {
        var = s == 1 ? "without" : "with"
        delete a; mn = 1e300
        for (i = 1; i <= n[var, m]; i++) { a[i] = v[var, m, i]; if (a[i] < mn) mn = a[i] }
        med[s] = median(a, n[var, m]); mins[s] = mn
      }
      if (unit[m] == "ns") {
        fmt = "%.1f"; d = med[2] - med[1]; dtxt = sprintf("%+.1f ns (%+.1f)", d, mins[2] - mins[1])
        ttxt = target[m] == "" ? "info" : sprintf("≤ %g ns", target[m])
        met = target[m] == "" ? "—" : (d <= target[m] ? "yes" : "no") " / " (mins[2] - mins[1] <= target[m] ? "yes" : "no")
      } else {
        fmt = "%.3f"; d = (med[2] / med[1] - 1) * 100
        dmin = (mins[2] / mins[1] - 1) * 100
        dtxt = sprintf("%+.1f %% (%+.1f %%)", d, dmin)
        ttxt = target[m] == "" ? "info" : sprintf("≤ %g %%", target[m])
        met = target[m] == "" ? "—" : (d <= target[m] ? "yes" : "no") " / " (dmin <= target[m] ? "yes" : "no")
      }
      cgt = ""
      if ((("without", m) in cg) && (("with", m) in cg)) {
        cgt = sprintf("%s → %s (%+.0f", cg["without", m], cg["with", m], cg["with", m] - cg["without", m])
        cgt = cgt (unit[m] == "s" ? sprintf(", %+.1f %%) per task", (cg["with", m] / cg["without", m] - 1) * 100) : ")")
      }
      printf "| %s | %d | " fmt " (" fmt ") | " fmt " (" fmt ") | %s | %s | %s | %s |\n", label[m], n["with", m] < n["without", m] ? n["with", m] : n["without", m], med[1], mins[1], med[2], mins[2], dtxt, ttxt, met, cgt
    }
  }' "$RAW" > "$TABLE"
echo
cat "$TABLE"
echo
awk '$2 == "fixed" { printf "bench: callgrind, tinypool start-up + exit (fixed cost, instructions): %s %s\n", $1, $3 }' "$CG"
echo "bench: $(grep -c . "$RAW") samples in $RAW; load now $(cut -d' ' -f1-3 /proc/loadavg); took $(awk -v a="$t_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }') s"
[ -s "$OUT/whole.err" ] && echo "bench: stderr of the whole runs in $OUT/whole.err"

# ---- other engineers' benchmarks ---------------------------------------------
[ -n "${BENCH_CORE_ONLY:-}" ] && exit $fail
# The long ones (bench/overhead.sh, bench/peers.sh: tens of minutes) see
# BENCH_FROM_MAKE and only say how to run them (make bench-overhead, bench-peers).
for s in bench/*.sh; do
  [ -e "$s" ] || continue
  echo "== $s"
  BENCH_FROM_MAKE=1 bash "$s" "$B" || { echo "bench: $s failed" >&2; fail=1; }
done
exit $fail
