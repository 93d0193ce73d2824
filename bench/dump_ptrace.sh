#!/usr/bin/env bash
# The pause of `poolshim dump PID` by ptrace (no shim in the target), for 10,
# 100, 1000 and 4000 threads (4000: one run). Usage: bash bench/dump_ptrace.sh [BUILD_DIR]
# Writes its section at the end of bench/RESULTS-dump.md (replacing its own
# previous one). Method (also in the results): bench/dump_stall.c, not under
# the shim, runs N idle threads (condvar waits, a pool's idle workers) plus one
# thread spinning on the clock; `poolshim dump` is taken DUMPS times per run,
# and each dump records its own phases in `capture`: pause_ms (the first
# PTRACE_INTERRUPT to the last PTRACE_DETACH: no thread of the program is
# stopped outside it), stop_ms (until the last thread stopped), copy_ms
# (registers, stacks, futex objects), and the offline part the program does not
# wait for (unwind_ms, dump_ms).
set -euo pipefail
B=${1:-build}
cd "$(dirname "$0")/.."
make -s all "$B/bench/dump_stall" >/dev/null
BIN=$(cd "$B" && pwd)/bench/dump_stall
PS=$(cd "$B" && pwd)/poolshim
RUNS=${RUNS:-3}
DUMPS=${DUMPS:-5}
OUT=bench/RESULTS-dump.md
tmp=$(mktemp -d /tmp/poolshim-bench-ptrace.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
for n in 10 100 1000 4000; do
  runs=$RUNS; [ "$n" -ge 4000 ] && runs=1
  for r in $(seq 1 "$runs"); do
    d="$tmp/n$n-r$r"; mkdir -p "$d"
    "$BIN" --threads "$n" --probes 1 --dumps 0 --gap-s 300 >/dev/null 2>&1 &
    pid=$!
    # wait until every thread is up (idle threads + probe + main)
    for _ in $(seq 1 200); do
      [ "$(ls /proc/$pid/task 2>/dev/null | wc -l)" -ge $((n + 2)) ] && break
      sleep 0.02
    done
    sleep 0.3
    for k in $(seq 1 "$DUMPS"); do
      "$PS" dump --dir "$d" --json "$pid" >/dev/null
      sleep 0.5
    done
    kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  done
done
# The same for 100 threads without SCHED_FIFO: an unprivileged user dumping its own process.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  d="$tmp/n100-nobody"; mkdir -p "$d"; chmod 711 "$tmp"; chmod 777 "$d"
  AS="setpriv --reuid=65534 --regid=65534 --clear-groups"
  $AS "$BIN" --threads 100 --probes 1 --dumps 0 --gap-s 300 >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 200); do
    [ "$(ls /proc/$pid/task 2>/dev/null | wc -l)" -ge 102 ] && break
    sleep 0.02
  done
  sleep 0.3
  for k in $(seq 1 "$DUMPS"); do $AS "$PS" dump --dir "$d" --json "$pid" >/dev/null; sleep 0.5; done
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
fi
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$tmp" "$OUT" "$LOAD" "$RUNS" "$DUMPS" <<'PY'
import glob, json, statistics, sys
tmp, out, load, runs, dumps = sys.argv[1:6]
def med(v): return statistics.median(v) if v else float('nan')
rows = []
for n, pat in ((10, "r*"), (100, "r*"), (1000, "r*"), (4000, "r*"), ("100, unprivileged", "nobody")):
    c = [json.load(open(f)) for f in glob.glob(f"{tmp}/n{str(n).split(',')[0]}-{pat}/poolshim.*.dump.*.json")]
    if not c: continue
    cap = [d["capture"] for d in c]
    g = lambda k: [x[k] for x in cap]
    stopped = sum(g("stopped")); listed = sum(g("threads"))
    rows.append(f"| {n} | {len(c)} | {stopped} / {listed} | {med(g('pause_ms')):.2f} / {max(g('pause_ms')):.2f} | "
                f"{med(g('stop_ms')):.2f} / {max(g('stop_ms')):.2f} | {med(g('copy_ms')):.2f} / {max(g('copy_ms')):.2f} | "
                f"{med(g('stack_bytes')) / 1024:.0f} | {med(g('unwind_ms')):.1f} | {med([d['dump_ms'] for d in c]):.1f} | "
                f"{'yes' if all(g('realtime')) else 'no' if not any(g('realtime')) else 'mixed'} |")
text = open(out).read()
mark = "\n# Pause of `poolshim dump PID` by ptrace"
if mark in text: text = text[:text.index(mark)]
text = text.rstrip("\n") + "\n" + mark + f""" (bench/dump_ptrace.sh)

Machine: 2 cores shared with other developers' builds and tests, load average {load} when the run
ended (it counts the benchmark's own threads too: 4000 threads woken by a dump are runnable at once). {runs} runs x {dumps} dumps per thread count (4000 threads: 1 run); the target is not under the shim.

| threads (+ probe + main) | dumps | stopped / listed | pause, median / max (ms) | until all stopped, median / max (ms) | copy, median / max (ms) | stack copied, median (KiB) | unwind offline, median (ms) | whole dump, median (ms) | SCHED_FIFO |
|---|---|---|---|---|---|---|---|---|---|
""" + "\n".join(rows) + """

- **pause** is from the first `PTRACE_INTERRUPT` to the last `PTRACE_DETACH`, measured by
  `poolshim dump` itself (`capture.pause_ms`): an upper bound of the time any thread of the
  program is stopped (a thread stops a little after its interrupt, and runs again as soon as it
  is detached). No thread is stopped outside that window: seizing (`PTRACE_SEIZE`) does not stop
  anything, and the offline part (unwinding, symbols, the write) runs after every thread is
  running again.
- **until all stopped** is the part of the pause spent waiting for the last thread to reach its
  stop: a thread blocked in the kernel is woken by the interrupt and must get a CPU to stop, so
  on a loaded machine this is scheduling delay. **copy** is reading registers, the stacks (from
  SP to the end of the stack's mapping, at most 256 KiB per thread) and the bytes around each
  futex word, all with every thread stopped.
- Every interrupted thread, even one asleep in the kernel, must be run once to reach its stop:
  the pause grows by tens of microseconds per thread on two loaded cores (the deadline for the
  last stop is 250 ms + 0.1 ms per thread, at most 2 s; a thread still running then is
  `timeout`).
- Root runs the stop-to-resume window `SCHED_FIFO` (priority 1; the "unprivileged" row is user
  nobody dumping its own process, without it): without it, a resumed thread
  that wants a CPU preempts `poolshim dump` between two detaches and the last threads wait for
  it (pigz's 6 threads at load 11: 6.6 ms pause without, 0.15-0.25 ms with).
"""
open(out, "w").write(text)
print("\n".join(rows))
PY
