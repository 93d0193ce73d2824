#!/usr/bin/env bash
# bench/controller.sh: how close the controller gets to the best static pool size.
# Usage: bash bench/controller.sh [BUILD_DIR]   (default build; prints a Markdown table)
# Per fixture: sweep static sizes under the shim with POOLSHIM_CONTROL=off (the oracle
# is the best of them), then run from a wrong size with POOLSHIM_CONTROL=on and report
#   fraction  = throughput of the controlled run (whole run, convergence included)
#               / the oracle's throughput
#   t10       = first time from which the controlled run's throughput over the next
#               second stays >= 0.9 x oracle (from the fixture's 100 ms timeline)
# Every run also checks the fixture's own "ok" (no task lost, repeated or changed).
# Dumps are off (POOLSHIM_DUMP=off): the fixtures keep their queues full on purpose.
# Timing on a shared 2-core machine is noisy: run it when the machine is quiet,
# and read the static sweep's spread as the noise floor.
set -uo pipefail
B=${1:-build}
LIB=$(cd "$B" && pwd)/libpoolshim.so
FX=$(cd "$B" && pwd)/fixtures
TMP=$(mktemp -d /tmp/poolshim-bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
[ -e "$LIB" ] || { echo "no $LIB: run make first" >&2; exit 2; }

# run NAME ENV... -- ARGS...: prints the fixture's truth line, keeps the report in $TMP/NAME
run() {
  local name=$1; shift
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  mkdir -p "$TMP/$name"
  env POOLSHIM_DIR="$TMP/$name" POOLSHIM_SUMMARY=off POOLSHIM_DUMP=off "${envs[@]}" LD_PRELOAD="$LIB" "$@" 2>"$TMP/$name/stderr" | head -1
}

# field JSON KEY
field() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]); print(v[sys.argv[2]])' "$1" "$2"; }

# t10 TRUTH ORACLE [FROM_S]: first time (s) from which 1 s windows stay >= 0.9 oracle
t10() {
  python3 - "$1" "$2" "${3:-0}" <<'EOF'
import json, sys
t = json.loads(sys.argv[1]); oracle = float(sys.argv[2]); start = float(sys.argv[3])
tl = [0] + t["timeline_100ms"]
ok = None
for i in range(int(start * 10), len(tl) - 10):
    if (tl[i + 10] - tl[i]) >= 0.9 * oracle:
        if ok is None: ok = i
    else:
        ok = None
print("%.1f" % (ok / 10 - start) if ok is not None else "never")
EOF
}

decisions() { python3 -c 'import json,sys,glob; r=json.load(open(glob.glob(sys.argv[1]+"/poolshim.*.json")[0])); print(len([d for d in r["controller"]["decisions"] if d["from"]!=d["to"]]))' "$TMP/$1" 2>/dev/null || echo "?"; }

# node's fs pool (bench/node_fs_timed.js: fs.readFile of a small cached file, 128 in
# flight): UV_THREADPOOL_SIZE=64 with control off and on, against 3 (the best
# static size measured in issue 12; 64 and 3 also without the shim) and 2 and
# 1; N_RUNS alternating rounds (default 5), medians. For control on: the libuv
# pool's final limit, the watchdog's releases and the size changes, per run.
node_fs() {
  command -v node >/dev/null || { echo "node fs pool: skipped, node is not installed"; return; }
  local rounds=${N_RUNS:-5} dur=${NODE_S:-4} i cfg
  local -A all
  local cfgs=("64 noshim" "64 off" "64 on" "3 noshim" "3 off" "2 off" "1 off")
  echo "node fs pool, $rounds rounds of ${dur} s, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  for ((i = 1; i <= rounds; i++)); do
    for cfg in "${cfgs[@]}"; do
      set -- $cfg
      local d="$TMP/node_$1_$2_$i" out
      mkdir -p "$d"
      if [ "$2" = noshim ]; then
        out=$(UV_THREADPOOL_SIZE=$1 node "$(dirname "$0")/node_fs_timed.js" "$dur")
      else
        out=$(UV_THREADPOOL_SIZE=$1 POOLSHIM_CONTROL=$2 POOLSHIM_DIR="$d" POOLSHIM_SUMMARY=off POOLSHIM_DUMP=off \
              LD_PRELOAD="$LIB" node "$(dirname "$0")/node_fs_timed.js" "$dur")
      fi
      local v; v=$(field "$out" ops_per_s)
      all[$cfg]="${all[$cfg]:-} $v"
      if [ "$2" = on ]; then
        python3 - "$d" "$v" <<'EOF2' >&2
import json, glob, sys
r = json.load(open(glob.glob(sys.argv[1] + "/poolshim.*.json")[0]))
ctl = r["controller"]
pools = [p for p in ctl["pools"] if p["start_routine"] == "worker"]
wp = pools[0]["pool"] if pools else None
rel = [d for d in ctl["decisions"] if d["pool"] == wp and d["action"] == "release"]
ch = [(round(d["t_s"], 2), d["from"], d["to"]) for d in ctl["decisions"] if d["pool"] == wp and d["from"] != d["to"]]
print("  on run: %s ops/s, libuv pool limit at exit %s, %d watchdog releases, size changes %s"
      % (sys.argv[2], pools[0]["limit"] if pools else "?", len(rel), ch))
EOF2
      fi
    done
  done
  echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "| UV_THREADPOOL_SIZE | shim | runs (ops/s) | median |"
  echo "|---|---|---|---|"
  for cfg in "${cfgs[@]}"; do
    set -- $cfg
    python3 -c 'import sys, statistics; v=[float(x) for x in sys.argv[3].split()]; print("| %s | %s | %s | %d |" % (sys.argv[1], {"noshim": "none", "off": "control off", "on": "control on"}[sys.argv[2]], " ".join("%d" % x for x in v), statistics.median(v)))' "$1" "$2" "${all[$cfg]}"
  done
}
if [ "${BENCH_CONTROLLER_ONLY:-}" = node ]; then node_fs; exit 0; fi

echo "| fixture | start size | oracle (best static) | controlled | fraction | t10 (s) | size changes | all tasks ok |"
echo "|---|---|---|---|---|---|---|---|"

sweep() {  # sweep FIXTURE DUR EXTRA_ARGS -- SIZES...: prints "best_n best_tput" and the table rows to stderr
  local fx=$1 dur=$2; shift 2
  local extra=()
  while [ "$1" != "--" ]; do extra+=("$1"); shift; done
  shift
  local best=0 best_n=0 line
  for n in "$@"; do
    line=$(run "static_${fx}_$n" POOLSHIM_CONTROL=off -- "$FX/$fx" --threads "$n" --duration-s "$dur" "${extra[@]}")
    local tp
    tp=$(field "$line" throughput)
    echo "  static $fx $n: $tp tasks/s" >&2
    if python3 -c "import sys; sys.exit(0 if float('$tp') > float('$best') else 1)"; then best=$tp; best_n=$n; fi
  done
  echo "$best_n $best"
}

controlled() {  # controlled FIXTURE START DUR ORACLE ORACLE_N ENV... -- EXTRA...  (row label: $LABEL or FIXTURE)
  local fx=$1 n=$2 dur=$3 oracle=$4 oracle_n=$5; shift 5
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  local line
  local tag=${LABEL:-$fx}
  tag=${tag// /_}
  line=$(run "on_$tag" POOLSHIM_CONTROL=on "${envs[@]}" -- "$FX/$fx" --threads "$n" --duration-s "$dur" "$@")
  local tp ok
  tp=$(field "$line" throughput)
  ok=$(field "$line" ok)
  local frac
  frac=$(python3 -c "print('%.2f' % (float('$tp') / float('$oracle')))")
  echo "| ${LABEL:-$fx} | $n | $oracle_n threads: $oracle/s | $tp/s | $frac | $(t10 "$line" "$oracle") | $(decisions "on_$tag") | $ok |"
}

read -r bn bt < <(sweep spin_oversub 4 -- 1 2 3 4 8 16 64)
controlled spin_oversub 64 10 "$bt" "$bn" --

# the same pool never idle: its queue (256) filled before the workers start and kept full
read -r bn bt < <(sweep spin_oversub 4 --queue-cap 256 --prefill 1 -- 1 2 64)
LABEL="spin_oversub never idle" controlled spin_oversub 64 10 "$bt" "$bn" -- --queue-cap 256 --prefill 1

read -r bn bt < <(sweep io_undersized 4 -- 8 16 24 32 42 56 64 96)
controlled io_undersized 2 8 "$bt" "$bn" POOLSHIM_EXPAND=io_worker --

# load shift: oracle per phase (I/O phase, then CPU phase), controlled run shifts at 5 s
read -r bn1 bt1 < <(sweep load_shift 3 --shift-s 100 -- 8 16 32)
read -r bn2 bt2 < <(sweep load_shift 3 --shift-s 0.01 -- 1 2 4 32)
line=$(run on_shift POOLSHIM_CONTROL=on -- "$FX/load_shift" --threads 32 --duration-s 10 --shift-s 5)
python3 - "$line" "$bt1" "$bt2" "$bn1" "$bn2" "$(t10 "$line" "$bt2" 5)" "$(decisions on_shift)" <<'EOF'
import json, sys
t = json.loads(sys.argv[1]); o1, o2 = float(sys.argv[2]), float(sys.argv[3])
p1, p2 = t["phase_done"]
f1, f2 = p1 / 5 / o1, p2 / 5 / o2
print("| load_shift I/O phase (0-5 s) | 32 | %s threads: %.0f/s | %.0f/s | %.2f | - | %s | %s |" % (sys.argv[4], o1, p1 / 5, f1, sys.argv[7], str(t["ok"]).lower()))
print("| load_shift CPU phase (5-10 s) | (from phase 1) | %s threads: %.0f/s | %.0f/s | %.2f | %s after the shift | | |" % (sys.argv[5], o2, p2 / 5, f2, sys.argv[6]))
EOF

# CPython ThreadPoolExecutor, CPU-bound: wall time of a fixed job, static max_workers vs control on from 8
PY='import sys,time
from concurrent.futures import ThreadPoolExecutor
def f(n):
    s = 0
    for i in range(n): s += i * i
    return s
t = time.time()
with ThreadPoolExecutor(max_workers=int(sys.argv[1])) as ex:
    r = sum(ex.map(f, [30000] * 800))
print(r, time.time() - t)'
best=999
for n in 1 2 4 8; do
  out=$(POOLSHIM_CONTROL=off POOLSHIM_SUMMARY=off POOLSHIM_DUMP=off POOLSHIM_DIR="$TMP" LD_PRELOAD="$LIB" python3 -c "$PY" "$n")
  s=$(echo "$out" | cut -d' ' -f2)
  echo "  static python $n: $s s" >&2
  best=$(python3 -c "print(min(float('$best'), float('$s')))")
done
mkdir -p "$TMP/py_on"
out=$(POOLSHIM_CONTROL=on POOLSHIM_EXPAND=pythread_wrapper POOLSHIM_SUMMARY=off POOLSHIM_DUMP=off POOLSHIM_DIR="$TMP/py_on" LD_PRELOAD="$LIB" python3 -c "$PY" 8)
s=$(echo "$out" | cut -d' ' -f2)
added=$(python3 -c 'import json,sys,glob
for f in glob.glob(sys.argv[1]+"/poolshim.*.json"):
    r=json.load(open(f))
    for p in r["controller"]["pools"]:
        if p["start_routine"]=="pythread_wrapper": print(p["threads_added"])' "$TMP/py_on" | head -1)
python3 -c "print('| python TPE, CPU-bound (time of a fixed job) | 8 | %.2f s | %.2f s | %.2f | - | threads added: %s | |' % ($best, $s, $best / $s, '$added'))"

echo
node_fs
