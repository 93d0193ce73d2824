#!/usr/bin/env bash
# POOLSHIM_TRACE=on and `poolshim export trace`: a condvar pool of 16 workers
# under the controller (which throttles it: parked slices), tasks submitted
# every 2 ms for SECONDS (default 2; `make truth` runs 10), then the
# structural check of tests/scripts/trace_check.py against the report: slices
# nest, sum to each thread's wall time (+-2 %), running and run queue match
# the report's CPU and run queue, counters equal the report's history,
# one instant per decision and dump. A whole attempt is retried (3 at most):
# on a loaded machine the controller may not have throttled in 2 s.
# Also: the export from the trace file itself, and the errors for a report
# without a trace. Usage: tests/scripts/trace_export.sh BUILD_DIR [SECONDS]
set -uo pipefail
B=${1:-build}
SECS=${2:-2}
cd "$(dirname "$0")/../.."
B=$(cd "$B" && pwd)
pass=0 fail=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
ko() { echo "FAIL: $*"; fail=$((fail + 1)); }
work=$(mktemp -d /tmp/poolshim-trace.XXXXXX)
trap 'rm -rf "$work"' EXIT
tasks=$((SECS * 500))

checked=0
for attempt in 1 2 3; do
  d="$work/a$attempt"
  mkdir -p "$d"
  POOLSHIM_DIR="$d" POOLSHIM_TRACE=on POOLSHIM_CONTROL=on POOLSHIM_SUMMARY=off \
    LD_PRELOAD="$B/libpoolshim.so" "$B/fixtures/condvar_pool" --threads 16 --tasks "$tasks" \
    --cpu-ms 2 --io-ms 1 --submit-us 2000 >"$d/truth" 2>"$d/err"
  rep=$(ls "$d"/poolshim.*.json 2>/dev/null | grep -Ev '\.(dump\.[0-9]+|trace|perfetto)\.json$' | head -1)
  tr=$(ls "$d"/poolshim.*.trace.json 2>/dev/null | head -1)
  if [ -z "$rep" ] || [ -z "$tr" ]; then echo "attempt $attempt: no report or no trace: $(tail -2 "$d/err")"; continue; fi
  if ! "$B/poolshim" export trace "$rep" -o "$d/out.json" 2>"$d/export.err"; then
    echo "attempt $attempt: export failed: $(cat "$d/export.err")"; continue
  fi
  if python3 tests/scripts/trace_check.py "$d/out.json" "$rep" "$tr" --want-parked >"$d/check" 2>&1; then
    checked=1; tail -2 "$d/check"; break
  fi
  echo "attempt $attempt (load $(cut -d' ' -f1 /proc/loadavg)):"; grep FAIL "$d/check" | head -8
done
[ $checked = 1 ] && ok "trace of ${SECS} s under the controller passes the structural check" \
                 || ko "trace of ${SECS} s under the controller fails the structural check (3 attempts)"

if [ $checked = 1 ]; then
  # the trace file itself is an input too; the report beside it gives the names
  if "$B/poolshim" export trace "$tr" -o "$d/from_trace.json" 2>/dev/null &&
     python3 tests/scripts/trace_check.py "$d/from_trace.json" "$rep" "$tr" >/dev/null 2>&1; then
    ok "export from the trace file itself"
  else
    ko "export from the trace file itself"
  fi
  python3 - "$d/out.json" <<'PY' && ok "decisions and counters are named" || ko "decisions or counters unnamed"
import json, sys
e = json.load(open(sys.argv[1]))["traceEvents"]
c = {x["name"] for x in e if x["ph"] == "C"}
i = [x["name"] for x in e if x["ph"] == "i"]
need = {"condvar_worker: " + k for k in ("threads", "busy", "parked", "limit", "queue", "tasks/s")}
sys.exit(0 if need <= c and any(n.startswith("controller: throttle condvar_worker") for n in i) else 1)
PY
fi

# The placement rules on a hand-made trace file whose answer is known
# (docs/format.md, "What the timeline's resolution is"): thread 1 runs and
# waits in its gaps, its last interval's run queue beyond the gaps is a
# nested wake-up at the end of its wait; thread 2 was counted 0.6 s of run
# queue in its last interval, of which 0.2 s is carried back to the first;
# thread 3's ring was overwritten before its first kept wait.
d="$work/hand"; mkdir -p "$d"
python3 - "$d/poolshim.7.trace.json" <<'PY'
import json, sys
S = 10**9
def ms(x): return int(x * S / 1000)
t = {"version": 1, "kind": "trace", "pid": 7, "written_ns": S, "interval_ms": 500,
     "causes": ["io", "sleep", "lock", "cond", "idle", "runqueue"],
     "kinds": ["none", "mutex", "rwlock", "spin", "cond", "sem", "futex", "io", "poll", "sleep", "join"],
     "threads": [
       {"tid": 1, "name": "a", "pool": -1, "exited": True, "born_ns": 0, "end_ns": S, "cpu_ns": ms(300), "runq_ns": ms(350),
        "ev": [[ms(100), ms(300), 1 + 256 * 9, 0], [ms(600), ms(900), 3 + 256 * 4, 4096]], "events_lost": 0,
        "open": None, "smp": [[ms(500), ms(200), ms(100)]], "samples_lost": 0},
       {"tid": 2, "name": "b", "pool": -1, "exited": True, "born_ns": 0, "end_ns": S, "cpu_ns": ms(100), "runq_ns": ms(600),
        "ev": [], "events_lost": 0, "open": None, "smp": [[ms(500), 0, 0]], "samples_lost": 0},
       {"tid": 3, "name": "c", "pool": -1, "exited": False, "born_ns": 0, "end_ns": S, "cpu_ns": 0, "runq_ns": 0,
        "ev": [[ms(400), ms(500), 4 + 256 * 4 + 65536, 8192]], "events_lost": 5, "open": [ms(700), 1 + 256 * 9, 0],
        "smp": [], "samples_lost": 0}],
     "pools": []}
json.dump(t, open(sys.argv[1], "w"))
PY
if "$B/poolshim" export trace "$d/poolshim.7.trace.json" -o "$d/out.json" 2>"$d/err"; then
  python3 - "$d/out.json" <<'PY' && ok "hand-made trace: slices placed as documented" || ko "hand-made trace: slices misplaced"
import json, sys
ev = [e for e in json.load(open(sys.argv[1]))["traceEvents"] if e["ph"] == "X"]
def sl(tid): return [(e["name"], round(e["ts"] / 1e6, 3), round((e["ts"] + e["dur"]) / 1e6, 3)) for e in ev if e["tid"] == tid]
want = {
  1: [("runqueue", 0, 0.0333), ("running", 0.0333, 0.1), ("sleep", 0.1, 0.3), ("runqueue", 0.3, 0.3667),
      ("running", 0.3667, 0.5), ("runqueue", 0.5, 0.55), ("running", 0.55, 0.6), ("cond", 0.6, 0.9),
      ("runqueue (wake-up)", 0.75, 0.9), ("runqueue", 0.9, 0.95), ("running", 0.95, 1.0)],
  2: [("runqueue", 0, 0.2), ("blocked (unwrapped)", 0.2, 0.5), ("runqueue", 0.5, 0.9), ("running", 0.9, 1.0)],
  3: [("not recorded (ring overwritten)", 0, 0.4), ("parked", 0.4, 0.5), ("blocked (unwrapped)", 0.5, 0.7), ("sleep", 0.7, 1.0)],
}
bad = 0
for tid, w in want.items():
    got = sorted(sl(tid), key=lambda x: (x[1], -x[2]))
    w = sorted(w, key=lambda x: (x[1], -x[2]))
    # (name, start, end) to the ms; each gap: run queue first, then running, then unwrapped
    g = {(n, round(a, 3), round(b, 3)) for n, a, b in got}
    if g != {(n, round(a, 3), round(b, 3)) for n, a, b in w}:
        print("thread %d: got %s" % (tid, got)); bad = 1
sys.exit(bad)
PY
else
  ko "hand-made trace: export failed: $(cat "$d/err")"
fi

# A report recorded without POOLSHIM_TRACE: one line saying so, exit 2.
d="$work/off"; mkdir -p "$d"
POOLSHIM_DIR="$d" POOLSHIM_SUMMARY=off LD_PRELOAD="$B/libpoolshim.so" "$B/fixtures/condvar_pool" \
  --threads 2 --tasks 10 --cpu-ms 1 --io-ms 1 >/dev/null 2>&1
rep=$(ls "$d"/poolshim.*.json | head -1)
"$B/poolshim" export trace "$rep" -o "$d/x.json" 2>"$d/err"; rc=$?
if [ $rc = 2 ] && [ "$(wc -l <"$d/err")" = 1 ] && grep -q "POOLSHIM_TRACE=on" "$d/err"; then
  ok "a report without a trace: exit 2, one line naming POOLSHIM_TRACE"
else
  ko "a report without a trace: rc $rc, $(cat "$d/err")"
fi
[ ! -e "$d/poolshim.$(basename "$rep" .json | cut -d. -f2).trace.json" ] && ok "no trace file when off" || ko "a trace file was written with tracing off"
"$B/poolshim" export trace /nonexistent.json 2>/dev/null; rc=$?
[ $rc = 2 ] && ok "missing file: exit 2" || ko "missing file: rc $rc"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
