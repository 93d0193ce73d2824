#!/usr/bin/env bash
# bench/controller_real.sh: the controller on real programs (issue 12's cases).
# Usage: bash bench/controller_real.sh [BUILD_DIR]   (make bench-controller)
# Per case, N_RUNS (default 5) alternating rounds of: the bad size under the shim
# with POOLSHIM_CONTROL=off, the same with on, and each static size of the case
# with off; medians. "best" is the best static size's median. For the runs with
# control on, from the report's decisions: the limit at exit, the time to a
# good size (the first time the pool ran at a size whose static median is
# within 0.9 of best, or between two such sizes, or above the largest static
# size when that one is good; 0 when it started at one), the time of the last
# size change, and size changes per minute of the run. From each run's
# throughput timeline, taken outside the shim (tests/truth/tput.sh's
# TPUT_TIMELINE: sysbench's per-second reports, pigz's bytes written, node's
# and CPython's own counts, memcached's stats; the fixture's timeline_100ms):
# t5, the first time t such that every 1 s window from t on ran at >= 0.95 of
# the best static median ("never" if the last window did not; windows start
# at each sample, 0.1 s apart, or 1 s for sysbench); for the on runs and, as
# the noise floor, for the best static size's own runs. Throughput comes from tests/truth/tput.sh (sysbench, pigz,
# node, memcached) and bench/py_tpe_cpu.py, and the io_undersized fixture's own
# line. DUR (default 4) is the seconds of the timed cases; memcached does
# MEMC_GETS (default 60000) gets on each of memcslap's 4 threads (~2.5 s, after
# ~4 s storing its keys), or with MEMC_LOAD=memc_load DUR s of bench/memc_load's
# round trips on MEMC_CONNS (4) connections, MEMC_DEPTH (8) pipelined on each,
# timed by the client itself. STEADY_S (default 60,
# 0 skips it): one more run with control on of each timed case that long, for
# its size changes per minute over a steady run, probes included, over the
# whole run and after its first SETTLE_S (default 10) seconds. CASES picks cases
# (default all): node sbthreads sbcpu pigz memcached python undersized.
# BENCH_KEEP=DIR keeps each run's report and timeline in DIR.
# The machine is shared: the load average is printed with each case.
set -uo pipefail
if [ -n "${BENCH_FROM_MAKE:-}" ]; then
  echo "bench/controller_real.sh: about 16 minutes; run it with make bench-controller"
  exit 0
fi
B=${1:-build}
LIB=$(cd "$B" && pwd)/libpoolshim.so
FX=$(cd "$B" && pwd)/fixtures
HERE=$(cd "$(dirname "$0")" && pwd)
TPUT=$HERE/../tests/truth/tput.sh
RUNS=${N_RUNS:-5} DUR=${DUR:-4}
# memcached's load: memcslap's gets, memcached's cmd_get as the timeline
# (default); MEMC_LOAD=memc_load: bench/memc_load for DUR s on MEMC_CONNS
# connections, MEMC_DEPTH set+get pairs pipelined on each, its own count of
# requests every 100 ms as the timeline (tried 2026-12-06: no steadier here,
# bench/RESULTS-controller.md)
MEMC_LOAD=${MEMC_LOAD:-memcslap} MEMC_CONNS=${MEMC_CONNS:-4} MEMC_DEPTH=${MEMC_DEPTH:-8}
MEMC_CLIENT=$(cd "$B" && pwd)/bench/memc_load
CASES=${CASES:-node sbthreads sbcpu pigz memcached python undersized}
CASES=${CASES//,/ }  # CASES=memcached,python works too
TMP=$(mktemp -d /tmp/poolshim-bench-ctl.XXXXXX)
# BENCH_KEEP=DIR keeps every run's report and timeline there (not pigz's input)
trap 'rm -f "$TMP/pigz.in"; [ -z "${BENCH_KEEP:-}" ] || { mkdir -p "$BENCH_KEEP"; cp -r "$TMP"/. "$BENCH_KEEP"/; }; rm -rf "$TMP"' EXIT
[ -e "$LIB" ] || { echo "no $LIB: run make first" >&2; exit 2; }
case " $CASES " in *" memcached "*)
  [ "$MEMC_LOAD" = memcslap ] || [ -x "$MEMC_CLIENT" ] || { echo "no $MEMC_CLIENT: make $B/bench/memc_load" >&2; exit 2; } ;; esac
PIGZ_IN=$TMP/pigz.in
# 148 MB of text: ~2 s at the best size (it was 16 MB, 0.2 s: over before
# the controller's first look, so the run measured no control at all)
head -c 110000000 /dev/urandom | base64 > "$PIGZ_IN"

# one CASE SIZE MODE DIR: prints the throughput of one run (MODE off or on);
# its timeline goes to DIR/timeline ("t_s count" lines)
one() {
  local c=$1 n=$2 mode=$3 d=$4 out
  mkdir -p "$d"
  local envs=(POOLSHIM_DIR="$d" POOLSHIM_SUMMARY=off POOLSHIM_DUMP=off POOLSHIM_CONTROL="$mode" LD_PRELOAD="$LIB"
              TPUT_TIMELINE="$d/timeline" TPUT_MEMC_GETS="${MEMC_GETS:-60000}")
  case $c in
  node) out=$(env "${envs[@]}" TPUT_S="$DUR" bash "$TPUT" node-fs "$n") ;;
  sbthreads) out=$(env "${envs[@]}" TPUT_S="$DUR" bash "$TPUT" sysbench-threads "$n") ;;
  sbcpu) out=$(env "${envs[@]}" TPUT_S="$DUR" bash "$TPUT" sysbench-cpu "$n") ;;
  pigz) out=$(env "${envs[@]}" bash "$TPUT" pigz "$n" "$PIGZ_IN") ;;
  memcached) if [ "$MEMC_LOAD" = memcslap ]; then out=$(env "${envs[@]}" bash "$TPUT" memcached "$n")
             else out=$(env "${envs[@]}" TPUT_S="$DUR" TPUT_MEMC_CONNS="$MEMC_CONNS" TPUT_MEMC_DEPTH="$MEMC_DEPTH" \
                        bash "$TPUT" memcached-load "$n" "$MEMC_CLIENT"); fi ;;
  python) out=$(env "${envs[@]}" python3 "$HERE/py_tpe_cpu.py" "$n" "$DUR") ;;
  undersized) out=$(env "${envs[@]}" POOLSHIM_EXPAND=io_worker "$FX/io_undersized" --threads "$n" --duration-s "$DUR" |
                    python3 -c 'import json,sys; t=json.loads(sys.stdin.readline()); assert t["ok"]; print("{\"tasks_per_s\": %.2f}" % t["throughput"])
open(sys.argv[1], "w").write("0 0\n" + "".join("%.1f %d\n" % (0.1 * (k + 1), n) for k, n in enumerate(t["timeline_100ms"])))' "$d/timeline") ;;
  esac
  python3 -c 'import json,sys; print(json.loads(sys.argv[1])["tasks_per_s"])' "$out" 2>/dev/null || echo 0
}

# ctl DIR SECONDS BAD: "limit last_change_s changes_per_min settled_changes_per_min path" of the
# run's main pool (the one started at the case's bad size BAD, most decisions among them;
# node's V8 platform pool of 4 may decide more often than its fs pool of 64 that settled
# at once): settled = changes after the first SETTLE_S
# (10) s, per minute of the rest; path = start size and each change as
# t_s:size, comma-separated (bench_case finds the time to a good size in it).
ctl() {
  python3 - "$1" "$2" "${SETTLE_S:-10}" "$3" <<'PY'
import glob, json, sys
fs = sorted(glob.glob(sys.argv[1] + "/poolshim.*.json"))
secs, settle, bad = float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
best = None
for f in fs:
    try:
        r = json.load(open(f))
    except Exception:
        continue
    ds = r.get("controller", {}).get("decisions", [])
    by = {}
    for d in ds:
        by.setdefault(d["pool"], []).append(d)
    for pool, l in by.items():
        ch = [d for d in l if d["from"] != d["to"]]
        lim = next((p.get("limit") for p in r.get("pools", []) if p.get("id") == pool), None)
        path = ",".join(["0:%d" % l[0]["from"]] + ["%.2f:%d" % (d["t_s"], d["to"]) for d in ch])
        late = len([d for d in ch if d["t_s"] >= settle])
        cand = (l[0]["from"] == bad, len(l), lim, ch[-1]["t_s"] if ch else 0.0, len(ch), late, path)
        if best is None or cand[:2] > best[:2]:
            best = cand
if best is None:
    print("- - - - -")
else:
    rest = secs - settle
    print("%s %.2f %.1f %s %s" % (best[2], best[3], best[4] * 60.0 / secs,
                                  "%.1f" % (best[5] * 60.0 / rest) if rest > 0 else "-", best[6]))
PY
}

median() { python3 -c 'import statistics,sys; print("%.0f" % statistics.median([float(x) for x in sys.argv[1:]]))' "$@"; }

bench_case() {  # bench_case NAME BAD STATICS...
  local c=$1 bad=$2; shift 2
  local statics=("$@") i s v
  local -A runs
  local lims=() lasts=() cpms=() paths=()
  local load0; load0=$(cut -d' ' -f1-3 /proc/loadavg)
  for ((i = 1; i <= RUNS; i++)); do
    v=$(one "$c" "$bad" off "$TMP/$c.off.$i"); runs[off]="${runs[off]:-} $v"
    v=$(one "$c" "$bad" on "$TMP/$c.on.$i"); runs[on]="${runs[on]:-} $v"
    local secs=$DUR
    [ "$c" = pigz ] && secs=2
    [ "$c" = memcached ] && [ "$MEMC_LOAD" = memcslap ] && secs=7
    read -r l t cpm _ path <<<"$(ctl "$TMP/$c.on.$i" "$secs" "$bad")"
    lims+=("$l"); lasts+=("$t"); cpms+=("$cpm"); paths+=("${path:--}")
    for s in "${statics[@]}"; do
      v=$(one "$c" "$s" off "$TMP/$c.s$s.$i"); runs[s$s]="${runs[s$s]:-} $v"
    done
  done
  local steady="-"
  if [ "${STEADY_S:-60}" != 0 ] && [ "$c" != pigz ] && [ "$c" != memcached ]; then
    DUR=${STEADY_S:-60} one "$c" "$bad" on "$TMP/$c.steady" >/dev/null
    read -r l t cpm scpm _ <<<"$(ctl "$TMP/$c.steady" "${STEADY_S:-60}" "$bad")"
    steady="$cpm, after ${SETTLE_S:-10} s $scpm (limit $l)"
  fi
  local load1; load1=$(cut -d' ' -f1-3 /proc/loadavg)
  local off on best=0 bestn=0 m
  off=$(median ${runs[off]}); on=$(median ${runs[on]})
  local st="" meds=""
  for s in "${statics[@]}"; do
    m=$(median ${runs[s$s]})
    st="$st $s: $m ($(echo ${runs[s$s]}));"
    meds="$meds $s:$m"
    if python3 -c "import sys; sys.exit(0 if $m > $best else 1)"; then best=$m; bestn=$s; fi
  done
  python3 - "$c" "$bad" "$off" "$on" "$best" "$bestn" "${runs[off]}" "${runs[on]}" "${lims[*]}" "${lasts[*]}" \
      "${cpms[*]}" "$load0" "$load1" "$st" "$steady" "$meds" "${paths[*]}" "$TMP" "$RUNS" <<'PY'
import statistics, sys
c, bad, off, on, best, bestn, roff, ron, lims, lasts, cpms, l0, l1, st, steady, meds, paths, tmp, nruns = sys.argv[1:]
off, on, best = float(off), float(on), float(best)

def t5(path):
    """The first t from which every 1 s window runs at >= 0.95 x best:
    (t or None for never, the worst window from 2 s on / best), or None
    without a timeline of a whole window."""
    try:
        rows = sorted((float(t), float(n)) for t, n in (l.split() for l in open(path) if l.strip()))
    except (OSError, ValueError):
        return None
    wins = []
    for i, (ti, ni) in enumerate(rows):
        j = next((j for j in range(i + 1, len(rows)) if rows[j][0] - ti >= 0.999), None)
        if j is None:
            break
        wins.append((ti, (rows[j][1] - ni) / (rows[j][0] - ti)))
    if not wins or not best:
        return None
    t = None
    for ti, r in reversed(wins):
        if r < 0.95 * best:
            break
        t = ti
    late = [r for ti, r in wins if ti >= 2 - 1e-9]
    return t, (min(late) / best if late else None)

def t5_col(mode):
    rs = [t5("%s/%s.%s.%d/timeline" % (tmp, c, mode, i)) for i in range(1, int(nruns) + 1)]
    per = " ".join("-" if r is None else "never" if r[0] is None else "%.1f" % r[0] for r in rs)
    ts = [r[0] for r in rs if r is not None]
    ok = sum(1 for t in ts if t is not None and t <= 2)
    known = sorted(ts, key=lambda t: 1e9 if t is None else t)
    med = known[(len(known) - 1) // 2] if known else "-"
    med = "-" if med == "-" else "never" if med is None else "%.1f" % med
    worst = [r[1] for r in rs if r is not None and r[1] is not None]
    w = "%.2f" % min(worst) if worst else "-"
    return "%s (%s), <= 2 s in %d of %d, worst window from 2 s %s" % (med, per, ok, len(rs), w)
f = lambda a, b: "%.2f" % (a / b) if b else "-"
# Good sizes: the static sizes within 0.9 of the best, and those between
# them; above the largest static size too if that one is good (unmeasured).
med = {int(k): float(v) for k, v in (x.split(":") for x in meds.split())}
good = [n for n, m in med.items() if best and m >= 0.9 * best]
lo, hi = min(good), max(good)
if hi == max(med):
    hi = 10 ** 9
def t_good(path):
    if path == "-":
        return None
    for step in path.split(","):
        t, n = step.split(":")
        if lo <= int(n) <= hi:
            return float(t)
    return None
tg = [t_good(p) for p in paths.split()]
tgs = " ".join("never" if t is None else "%.2f" % t for t in tg)
reached = [t for t in tg if t is not None]
tgm = "%.2f" % statistics.median(reached) if len(reached) * 2 > len(tg) else "never"
rng = "%d" % lo if lo == hi else "%d+" % lo if hi == 10 ** 9 else "%d-%d" % (lo, hi)
print("| %s | %s | %.0f (%s) | %.0f (%s) | %.0f at %s | %s | %s | %s | %s (%s) | %s | %s | %s | %s | %s | %s | %s / %s |"
      % (c, bad, off, roff.strip(), on, ron.strip(), best, bestn, f(on, best), f(on, off), lims, tgm, tgs, rng,
         lasts, cpms, steady, t5_col("on"), t5_col("s" + bestn), l0.split()[0], l1.split()[0]))
print("  statics:%s" % st, file=sys.stderr)
PY
}

echo "controller on real programs: $RUNS alternating rounds, DUR=$DUR s, $(date -u '+%F %H:%M') UTC, commit $(git -C "$HERE" rev-parse --short HEAD 2>/dev/null)"
echo "| case | bad size | off: median (runs) | on: median (runs) | best static median | on/best | on/off | limit at exit (per on run) | time to a good size s: median (per on run) | good sizes | last size change s | size changes/min | steady run: changes/min | on: t5 s, 1 s windows >= 0.95 of best from t: median (per run) | best static's own runs: t5 s | load start / end |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for c in $CASES; do
  case $c in
  node) command -v node >/dev/null && bench_case node 64 1 2 3 ;;
  sbthreads) command -v sysbench >/dev/null && bench_case sbthreads 16 1 2 4 ;;
  sbcpu) command -v sysbench >/dev/null && bench_case sbcpu 64 2 4 ;;
  pigz) command -v pigz >/dev/null && bench_case pigz 64 2 4 ;;
  memcached) command -v memcached >/dev/null && { [ "$MEMC_LOAD" != memcslap ] || command -v memcslap >/dev/null; } &&
             bench_case memcached 16 2 4 ;;
  python) bench_case python 64 1 2 ;;
  undersized) bench_case undersized 2 16 32 42 ;;
  *) echo "unknown case $c" >&2 ;;
  esac
done
