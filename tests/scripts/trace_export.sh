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
