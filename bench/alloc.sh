#!/usr/bin/env bash
# bench/alloc.sh: what the shim's allocator choice costs real programs, in wall
# time and peak RSS, run side by side with the same programs without the shim.
# Usage: bash bench/alloc.sh [BUILD_DIR]
#   ALLOC_PAIRS=N        rounds (default 7); each round runs every variant once,
#                        the order rotating from round to round (ABC, BCA, CAB...)
#                        so a change of load hits every variant alike
#   ALLOC_VARIANTS=...   space-separated, from: none shim libc jemalloc
#                        (default "none shim": without / with the shim's defaults;
#                        libc / jemalloc: the shim with POOLSHIM_MALLOC=libc / jemalloc)
#   ALLOC_PROGRAMS=...   space-separated, from: node pigz sysbench sysbench2 python
#                        pylauncher memcached (memcached -t 4 serving bench/memc_load: 8
#                        connections x 10,000 set+get; only memcached runs
#                        under the shim; wall is the whole start-load-stop)
#   ALLOC_RAW=FILE       where the raw samples go (default
#                        BUILD_DIR/bench/results/alloc-samples.txt)
#   ALLOC_SHIM_ENV=...   extra VAR=value words for every run under the shim
#                        (e.g. POOLSHIM_DUMP=off to leave dumps out of it)
#   ALLOC_MALLOC_CONF=.. extra MALLOC_CONF for the jemalloc variant (tuning trials)
#   ALLOC_BUDGET_S=N     per program, no new round starts after N seconds once 3
#                        rounds are done (default 25, so that make bench stays
#                        within its budget; 0: no limit, as for RESULTS-alloc.md)
# Wall time, peak RSS and CPU time are /usr/bin/time's %e, %M (wait4's
# ru_maxrss) and %U + %S.
# The shim runs with its defaults (control advise, dumps on) except the summary
# on stderr; dumps taken are counted. Prints a Markdown table: per program and
# variant, the median over rounds of (variant's time / the same round's run
# without the shim) with min-max, and the median peak RSS of each.
set -uo pipefail
B=${1:-build}
B=$(cd "$B" && pwd)
SHIM=$B/libpoolshim.so
HERE=$(cd "$(dirname "$0")" && pwd)
PAIRS=${ALLOC_PAIRS:-7}
VARIANTS=${ALLOC_VARIANTS:-none shim}
PROGRAMS=${ALLOC_PROGRAMS:-node pigz sysbench sysbench2 python}
SHIM_ENV=${ALLOC_SHIM_ENV:-}
BUDGET=${ALLOC_BUDGET_S:-25}
[ -r "$SHIM" ] || { echo "alloc.sh: $SHIM missing (run make)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "alloc.sh: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }
TMP=$(mktemp -d /tmp/poolshim-alloc.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
RAW=${ALLOC_RAW:-$B/bench/results/alloc-samples.txt}
mkdir -p "$(dirname "$RAW")"
: > "$RAW"

# inputs: 4 KiB file for node, 64 MiB of generated text for pigz
head -c 4096 /dev/zero | tr '\0' 'x' > "$TMP/f4k"
if [ -x "$B/bench/gendata" ]; then "$B/bench/gendata" 64 > "$TMP/data"
else head -c $((64 << 20)) /dev/urandom | base64 > "$TMP/data"; fi
# python: the interpreter itself. pylauncher: the same command through what
# PATH finds first, when that is not the interpreter (a version manager's
# script, e.g. pyenv's, runs ~40 shell processes before it execs it; each one
# loads the shim too, so this row shows the shim's cost per process).
PY_CMD=$(command -v python3.11 || command -v python3)
PY=$("$PY_CMD" -c 'import sys; print(sys.executable)' 2>/dev/null) || PY=$PY_CMD

cmd_of() {
  case $1 in
    node) echo "env UV_THREADPOOL_SIZE=4 node $HERE/node_fs.js 150000 $TMP/f4k" ;;
    pigz) echo "pigz -p 2 -6 -c $TMP/data" ;;
    sysbench) echo "sysbench threads --threads=4 --time=0 --events=2000 run" ;;
    sysbench2) echo "sysbench threads --threads=2 --time=0 --events=2000 run" ;;
    python) echo "$PY $HERE/../tests/fixtures/py_tpe.py --mode sleep --threads 16 --tasks 16000 --ms 1" ;;
    pylauncher) echo "$PY_CMD $HERE/../tests/fixtures/py_tpe.py --mode sleep --threads 16 --tasks 16000 --ms 1" ;;
    memcached) echo "bash $HERE/memc_run.bash $B/bench/memc_load 8 10000" ;;
  esac
}

env_of() {
  case $1 in
    none) echo "" ;;
    shim) echo "LD_PRELOAD=$SHIM $SHIM_ENV" ;;
    libc) echo "LD_PRELOAD=$SHIM POOLSHIM_MALLOC=libc $SHIM_ENV" ;;
    jemalloc) echo "LD_PRELOAD=$SHIM POOLSHIM_MALLOC=jemalloc $SHIM_ENV ${ALLOC_MALLOC_CONF:+MALLOC_CONF=$ALLOC_MALLOC_CONF}" ;;
  esac
}

echo "alloc.sh: $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg), $PAIRS rounds of: $VARIANTS${SHIM_ENV:+ (shim env: $SHIM_ENV)}" >&2
read -r -a vs <<< "$VARIANTS"
nv=${#vs[@]}
for prog in $PROGRAMS; do
  c=$(cmd_of "$prog")
  exe=$prog; case $prog in sysbench2) exe=sysbench ;; python) exe=$PY ;; pylauncher) exe=$PY_CMD ;; esac
  if [ "$prog" = pylauncher ] && [ "$(readlink -f "$PY_CMD")" = "$(readlink -f "$PY")" ]; then
    echo "alloc.sh: $PY_CMD is the interpreter itself (no launcher on PATH), pylauncher skipped" >&2; continue
  fi
  command -v "$exe" > /dev/null || { echo "alloc.sh: $exe not installed, $prog skipped" >&2; continue; }
  if [ "$prog" = memcached ] && [ ! -x "$B/bench/memc_load" ]; then
    echo "alloc.sh: $B/bench/memc_load missing (make bench), memcached skipped" >&2; continue
  fi
  t0=$EPOCHREALTIME
  for ((i = 0; i < PAIRS; i++)); do
    if ((i >= 3 && BUDGET > 0)) && awk -v a="$t0" -v b="$EPOCHREALTIME" -v l="$BUDGET" 'BEGIN { exit !(b - a > l) }'; then
      echo "alloc.sh: $prog: time budget reached after $i rounds" >&2
      break
    fi
    for ((k = 0; k < nv; k++)); do
      v=${vs[$(((i + k) % nv))]}
      d=$TMP/dir; rm -rf "$d"; mkdir -p "$d"
      pre=$(env_of "$v")
      # memcached alone runs under the shim, not the script and client around it
      [ "$prog" = memcached ] && pre=${pre//LD_PRELOAD=/MEMC_PRELOAD=}
      # shellcheck disable=SC2046,SC2086
      /usr/bin/time -f '%e %M %U %S' -o "$TMP/t" env POOLSHIM_DIR="$d" POOLSHIM_SUMMARY=off $pre $c \
        > /dev/null 2> "$TMP/err" || { echo "alloc.sh: $prog/$v failed: $(tail -2 "$TMP/err")" >&2; continue; }
      dumps=$(find "$d" -name 'poolshim.*.dump.*.json' | wc -l)
      echo "$prog $v $i $(tail -1 "$TMP/t") $dumps $(cut -d' ' -f1 /proc/loadavg)" >> "$RAW"
    done
  done
done
echo "alloc.sh: load after: $(cut -d' ' -f1-3 /proc/loadavg); samples in $RAW" >&2

# table: ratio of each variant's time to the same round's 'none' run
python3 - "$RAW" <<'EOF'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
progs, vars_ = [], []
runs = {}
for p, v, i, t, rss, us, sy, dumps, load in rows:
    if p not in progs: progs.append(p)
    if v not in vars_: vars_.append(v)
    runs[(p, v, int(i))] = (float(t), int(rss) / 1024, int(dumps), float(load), float(us) + float(sy))
print("| program | variant | rounds | wall / none: median (min-max) | wall s median | CPU / none: median (min-max) | peak RSS MiB median (min-max) | RSS / none | dumps | load 1-min |")
print("|---|---|---|---|---|---|---|---|---|---|")
for p in progs:
    base = {i: r for (q, v, i), r in runs.items() if q == p and v == "none"}
    if not base: continue
    brss = st.median([r[1] for r in base.values()]) if base else None
    for v in vars_:
        mine = {i: r for (q, w, i), r in runs.items() if q == p and w == v}
        if not mine: continue
        ratios = [mine[i][0] / base[i][0] for i in mine if i in base and base[i][0] > 0]
        rs = [r[1] for r in mine.values()]
        rat = "%.3f (%.3f-%.3f)" % (st.median(ratios), min(ratios), max(ratios)) if ratios and v != "none" else "-"
        cr = [mine[i][4] / base[i][4] for i in mine if i in base and base[i][4] > 0]
        crat = "%.3f (%.3f-%.3f)" % (st.median(cr), min(cr), max(cr)) if cr and v != "none" else "-"
        rr = "%.2f" % (st.median(rs) / brss) if brss and v != "none" else "-"
        print("| %s | %s | %d | %s | %.2f | %s | %.1f (%.1f-%.1f) | %s | %d | %.1f |" % (
            p, v, len(mine), rat, st.median([r[0] for r in mine.values()]), crat, st.median(rs), min(rs), max(rs), rr,
            sum(r[2] for r in mine.values()), st.median([r[3] for r in mine.values()])))
EOF
