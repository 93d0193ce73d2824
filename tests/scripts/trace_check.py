#!/usr/bin/env python3
"""trace_check.py: the structural check of `poolshim export trace` output
against the report of the same run (issue 14's acceptance):

  - every thread's slices nest: two slices on a thread are disjoint or one
    holds the other, never a partial overlap;
  - a thread's top-level slices sum to its wall time in the report (+-2 %);
  - its running time is its CPU in the report and its run-queue slices its
    run-queue time, within --tol (the trace places them per sampling
    interval; a thread's CPU inside wrapped calls is not in a gap);
  - each pool's counters equal the report's history samples, value for
    value, at the same times;
  - one instant event per controller decision and per dump listed.

Prints the size of the raw trace file per thread-second. Exit 0 when all hold.
Usage: trace_check.py OUT.perfetto.json REPORT.json TRACE.json [--tol F] [--min-threads N]
"""
import argparse
import json
import os
import sys

EPS_US = 0.0015   # ts and dur are exact ns, printed as us with 3 decimals


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("chrome")
    ap.add_argument("report")
    ap.add_argument("trace")
    ap.add_argument("--tol", type=float, default=0.10, help="cpu / runqueue relative tolerance")
    ap.add_argument("--abs-s", type=float, default=0.02, help="... or this many seconds")
    ap.add_argument("--min-threads", type=int, default=2)
    ap.add_argument("--want-parked", action="store_true", help="some pool was parked by the controller")
    a = ap.parse_args()
    with open(a.chrome) as f:
        chrome = json.load(f)
    with open(a.report) as f:
        rep = json.load(f)
    fails = []

    def fail(msg):
        fails.append(msg)
        print("FAIL: " + msg)

    evs = chrome.get("traceEvents")
    if not isinstance(evs, list) or not evs:
        print("FAIL: no traceEvents")
        return 1
    by_tid = {}
    counters = {}
    instants = {"controller": 0, "dump": 0}
    parked_slices = 0
    for e in evs:
        ph = e.get("ph")
        if ph == "X":
            by_tid.setdefault(e["tid"], []).append(e)
            parked_slices += e["name"] == "parked"
        elif ph == "C":
            counters[(e["name"], round(e["ts"]))] = e["args"]["value"]
        elif ph == "i":
            instants[e.get("cat")] = instants.get(e.get("cat"), 0) + 1

    threads = {t["tid"]: t for t in rep.get("threads", [])}
    checked = 0
    wall_total = 0.0
    worst = 0.0
    for tid, sl in sorted(by_tid.items()):
        sl.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack, top, run, runq = [], 0.0, 0.0, 0.0
        for e in sl:
            ts, end = e["ts"], e["ts"] + e["dur"]
            while stack and stack[-1] <= ts + EPS_US:
                stack.pop()
            if stack and end > stack[-1] + EPS_US:
                fail("thread %d: slice %s at %.3f us overlaps its neighbour partially" % (tid, e["name"], ts))
                break
            if not stack:
                top += e["dur"]
            stack.append(end)
            if e["name"] == "running":
                run += e["dur"]
            elif e["name"].startswith("runqueue"):
                runq += e["dur"]
        t = threads.get(tid)
        if t is None or t.get("wall_s") is None:
            fail("thread %d is in the trace, not measured in the report" % tid)
            continue
        wall = t["wall_s"]
        wall_total += wall
        err = abs(top * 1e-6 - wall) / wall if wall > 0 else 0
        worst = max(worst, err)
        if err > 0.02:
            fail("thread %d: top-level slices %.4f s, wall %.4f s (%.1f %%)" % (tid, top * 1e-6, wall, err * 100))
        cpu, rq = t["cpu_s"], t["wait_by_cause"]["runqueue"]
        for what, got, want in (("running", run * 1e-6, cpu), ("runqueue", runq * 1e-6, rq)):
            if abs(got - want) > max(a.tol * want, a.abs_s):
                fail("thread %d: %s %.4f s in the trace, %.4f s in the report" % (tid, what, got, want))
        checked += 1
        print("thread %d %-16s wall %.3f s: slices %.3f s, running %.3f (cpu %.3f), runqueue %.3f (%.3f)" %
              (tid, t.get("name", ""), wall, top * 1e-6, run * 1e-6, cpu, runq * 1e-6, rq))
    missing = [tid for tid, t in threads.items() if t.get("wall_s") and tid not in by_tid]
    if missing:
        fail("threads of the report missing from the trace: %s" % missing)
    if checked < a.min_threads:
        fail("only %d threads checked" % checked)

    # Counters against the report's history (its last samples).
    names = {p["id"]: (p.get("entry") or p.get("start_routine")) for p in rep.get("pools", [])}
    matched = 0
    for p in rep.get("pools", []):
        label = names[p["id"]]
        for h in p.get("history", []):
            ts = round(h["t_s"] * 1e6)
            for key in ("threads", "busy", "parked", "limit", "queue"):
                want = h.get(key)
                got = None
                for d in (0, -1, 1):            # t_s is printed to the microsecond
                    got = counters.get(("%s: %s" % (label, key), ts + d))
                    if got is not None:
                        break
                if got is None:
                    fail("pool %s: no %s counter at %.6f s" % (label, key, h["t_s"]))
                elif got != want:
                    fail("pool %s: %s counter %s at %.6f s, history %s" % (label, key, got, h["t_s"], want))
                else:
                    matched += 1
    if not matched:
        fail("no counter sample matched the report's history")
    decisions = len((rep.get("controller") or {}).get("decisions", []))
    if instants.get("controller", 0) != decisions:
        fail("%d controller instants, %d decisions in the report" % (instants.get("controller", 0), decisions))
    dumps = len(rep.get("dumps", []))
    if instants.get("dump", 0) != dumps:
        fail("%d dump instants, %d dumps in the report" % (instants.get("dump", 0), dumps))
    if a.want_parked and not parked_slices:
        fail("no parked slice, though the controller was on")

    size = os.path.getsize(a.trace)
    print("threads %d, counter values matched %d, decisions %d, dumps %d, parked slices %d, worst wall error %.3f %%"
          % (checked, matched, decisions, dumps, parked_slices, worst * 100))
    print("trace file %d bytes for %.2f thread-seconds: %.0f bytes per thread-second; export %d bytes"
          % (size, wall_total, size / wall_total if wall_total else 0, os.path.getsize(a.chrome)))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
