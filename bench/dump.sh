#!/usr/bin/env bash
# Pause per dump, as the application's threads see it, for 10 and 1000 threads.
# Usage: bash bench/dump.sh [BUILD_DIR]   (writes bench/RESULTS-dump.md)
# Method (details in the results file): bench/dump_stall.c runs N idle threads
# plus 1 spinning probe thread under the shim and asks itself for 3 dumps;
# we read (1) each thread's time inside the dump signal's handler, which the
# dump records per thread (capture_us), (2) the capture's wall time and the
# whole dump's time, and (3) the probes' largest gap in each dump window next
# to a baseline window without a dump.
set -euo pipefail
B=${1:-build}
cd "$(dirname "$0")/.."
make -s all "$B/bench/dump_stall" "$B/bench/malloc_pair" >/dev/null
LIB=$(cd "$B" && pwd)/libpoolshim.so
BIN=$(cd "$B" && pwd)/bench/dump_stall
RUNS=${RUNS:-3}
OUT=bench/RESULTS-dump.md
tmp=$(mktemp -d /tmp/poolshim-bench-dump.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

for n in 10 1000; do
  for r in $(seq 1 "$RUNS"); do
    d="$tmp/n$n-r$r"; mkdir -p "$d"
    (cd "$d" && LD_PRELOAD=$LIB POOLSHIM_DIR=$d POOLSHIM_SUMMARY=off POOLSHIM_REPORT=off \
       POOLSHIM_DUMP=off "$BIN" --threads "$n" --probes 1 --dumps 3 >"$d/probe.json" 2>"$d/stderr")
  done
done

# The allocator under the shim, per malloc+free pair: the default (glibc, sampled),
# sampling off, and POOLSHIM_MALLOC=jemalloc.
MP=$(cd "$B" && pwd)/bench/malloc_pair
for r in $(seq 1 5); do
  "$MP" >>"$tmp/malloc-glibc.json"
  LD_PRELOAD=$LIB POOLSHIM_SUMMARY=off POOLSHIM_REPORT=off POOLSHIM_DIR=$tmp "$MP" >>"$tmp/malloc-shim.json"
  LD_PRELOAD=$LIB POOLSHIM_SUMMARY=off POOLSHIM_REPORT=off POOLSHIM_DIR=$tmp POOLSHIM_ALLOC_SAMPLE=-1 "$MP" >>"$tmp/malloc-shim-noprof.json"
  LD_PRELOAD=$LIB POOLSHIM_SUMMARY=off POOLSHIM_REPORT=off POOLSHIM_DIR=$tmp POOLSHIM_MALLOC=jemalloc "$MP" >>"$tmp/malloc-shim-jemalloc.json"
done

python3 - "$tmp" "$RUNS" "$OUT" <<'PY'
import glob, json, os, statistics, sys
tmp, runs, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def pct(v, p):
    v = sorted(v); return v[min(len(v) - 1, int(p / 100 * len(v)))] if v else float('nan')
rows = []
for n in (10, 1000):
    pauses, walls, dumps_ms, answered, signalled, base, during = [], [], [], 0, 0, [], []
    cost = {}
    for r in range(1, runs + 1):
        d = f"{tmp}/n{n}-r{r}"
        for f in glob.glob(f"{d}/poolshim.*.dump.*.json"):
            j = json.load(open(f))
            walls.append(j["capture"]["wall_ms"]); dumps_ms.append(j["dump_ms"])
            for k, v in j.get("cost_ms", {}).items():
                cost.setdefault(k, []).append(v)
            answered += j["capture"]["answered"]; signalled += j["capture"]["signalled"]
            pauses += [t["capture_us"] for t in j["threads"] if t.get("capture_us") is not None]
        p = json.load(open(f"{d}/probe.json"))
        base.append(p["baseline"]["max_gap_ms"]); during += [x["max_gap_ms"] for x in p["dumps"]]
    rows.append((n, len(walls), answered, signalled, statistics.median(pauses), pct(pauses, 99), max(pauses),
                 statistics.median(walls), max(walls), statistics.median(dumps_ms), max(dumps_ms),
                 statistics.median(base), max(base), statistics.median(during), max(during),
                 {k: statistics.median(v) for k, v in cost.items()}))
load = open("/proc/loadavg").read().split()[:3]
with open(out, "w") as f:
    f.write("# Pause per dump (bench/dump.sh)\n\n")
    f.write(f"Machine: {os.cpu_count()} cores, load average {' '.join(load)} when the run ended "
            f"(other builds and tests share it). {runs} runs x 3 dumps per thread count.\n\n")
    f.write("| threads | dumps | answered / signalled | handler pause per thread, median / p99 / max (us) "
            "| capture wall, median / max (ms) | whole dump, median / max (ms) "
            "| probe max gap: baseline median / max (ms) | probe max gap: dump window median / max (ms) |\n")
    f.write("|---|---|---|---|---|---|---|---|\n")
    for (n, nd, a, s, pm, p99, px, wm, wx, dm, dx, bm, bx, gm, gx, c) in rows:
        f.write(f"| {n} | {nd} | {a} / {s} | {pm:.1f} / {p99:.1f} / {px:.1f} | {wm:.2f} / {wx:.2f} | "
                f"{dm:.1f} / {dx:.1f} | {bm:.2f} / {bx:.2f} | {gm:.2f} / {gx:.2f} |\n")
    f.write("\nWhere a dump's own time goes (median ms, `cost_ms` in the dump; the shim's thread, "
            "competing for the cores with the probe and everything else):\n\n")
    keys = list(rows[0][-1].keys())
    f.write("| threads | " + " | ".join(keys) + " |\n|---|" + "---|" * len(keys) + "\n")
    for r in rows:
        f.write(f"| {r[0]} | " + " | ".join(f"{r[-1].get(k, float('nan')):.1f}" for k in keys) + " |\n")
    f.write("\nThe allocator under the shim (`bench/malloc_pair.c`: 12.8 M malloc+free pairs of 16..1039 "
            "bytes, 64 live; median of 5 runs, ns per pair):\n\n| glibc, no shim | shim default: glibc, sampling 2^19 "
            "| shim: glibc, POOLSHIM_ALLOC_SAMPLE=-1 | shim: POOLSHIM_MALLOC=jemalloc, sampling 2^19 |\n|---|---|---|---|\n")
    med = lambda name: statistics.median(json.loads(l)["ns_per_pair"] for l in open(f"{tmp}/malloc-{name}.json"))
    f.write(f"| {med('glibc'):.1f} | {med('shim'):.1f} | {med('shim-noprof'):.1f} | {med('shim-jemalloc'):.1f} |\n")
    f.write("""
## Method

- `bench/dump_stall.c` starts N idle threads (blocked in `pthread_cond_wait`, like a pool's idle
  workers) and 1 probe thread (one core left for everything else) that spins on
  `CLOCK_MONOTONIC` and records every gap above 50 us.
  After a 1.2 s baseline window it sends itself the dump signal 3 times, 1.2 s apart (what
  `poolshim dump PID` does). Run under `LD_PRELOAD=libpoolshim.so` with saturation dumps off.
- **Handler pause per thread** is what each application thread loses to a dump: the wall time
  from entering the dump signal's handler to leaving it (the unwind of its own stack), recorded
  by the handler itself in the dump (`threads[].capture_us`). The signal wake-up of a thread
  that was blocked costs it nothing visible: it was waiting anyway. It is wall time, so a
  thread preempted inside the handler (a thousand threads woken on two loaded cores) shows the
  preemption too: that is the maximum column; the median is the unwind itself.
- **Capture wall** (`capture.wall_ms`) is the time from the first signal sent to the last
  answer; the shim signals 8 x cores threads at a time so that a thousand threads are not all
  made runnable at once. **Whole dump** (`dump_ms`) adds /proc reads, symbolization, pool and
  lock sections, the module map, the heap profile (the sample table, or jemalloc's prof.dump) and the atomic write (with fsync): it
  runs on the shim's own thread while the application keeps running.
- **Probe max gap** is the largest time a spinning probe did not run inside a window: the
  baseline window has no dump, each dump window starts at the request. On a loaded 2-core
  machine the baseline gaps are large already (other processes preempt the probes), so this
  column only bounds the dump's effect; the handler pause is the precise figure. With 1000
  threads the dump window's gaps are larger than the baseline's: the shim's thread spends
  the "whole dump" time on a core (mostly reading /proc and writing the JSON), and on a
  2-core machine that time is taken from the application.
""")
print(open(out).read())
PY
