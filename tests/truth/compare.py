#!/usr/bin/env python3
"""compare.py: checks a poolshim report against the truth observe.py took
from outside the same run.

  compare.py [--case NAME] [--markdown] [--tasks N] [--wc X] [--stderr FILE] TRUTH.json REPORT.json

Per thread (matched by TID; threads seen for under 50 ms are skipped):
  partition  cpu_s + wait_by_cause + unattributed_s = wall_s        ±2 %
  cpu        schedstat CPU                                          ±5 % or 20 ms
Per pool (its threads' sums), each cause against the outside samples:
  sync = lock + cond + idle (a futex from outside), sleep, io, runqueue
           ±15 %, or 20 ms, or, where the observer's shares are samples,
           3 % of the pool's blocked time (the shares of a 250 Hz outside
           sampler resolve no finer; exact shares, from perf, get no such
           allowance); a blocked cause
           may exceed its truth by the time the observer could not see as
           well: each thread's wall in the report less its wall from first
           to last sight (up to a period at each end; node's crypto workers
           idle about 4.7 ms each after their last sight, and their sync read
           0.079 s against 0.058)
The main thread is checked for the partition only: it runs on after the
report is written at exit (destructors, the runtime's teardown), and the
observer cannot tell where the report stopped.
Thread count: every thread the observer saw (but the shim's own) is in the report.
Tasks (--tasks N, the workload's own count): the pool doing most of the CPU
  counts N ±2 %; its count written as unknown (null) fails too.
W/C (--wc X, the workload's own wait per CPU): the busiest pool's w_c ±20 %
  (±0.05 where X is 0: tasks that wait for nothing).
Class (--class C, what the workload is by construction): the busiest pool's
  classification.
One answer (--stderr FILE, the program's stderr with the shim's summary): each
  pool's summary line and its line in the profile (if one was written) give
  the report's thread count, class and recommended size.
Sleep known (--sleep-known S, the workload's own sleeps: count x (length +
  timer slack)): the busiest pool's sleep truth is S instead of the sampled
  share, where short sleeps hide among long waits of another kind (1 ms
  sleeps in 3 s of lock wait are below a 4 ms sampler's resolution); the
  other causes share the rest of its blocked time in their sampled
  proportions (the samples the sleeps lost went to them).
Sleeps in timed condvar waits (--cond-sleeps, a runtime that sleeps so:
  HotSpot's Thread.sleep and its service threads' periodic waits): from
  outside such a sleep is a futex wait like any other, so for every pool
  but the busiest (whose sleeps --sleep-known pins) sleep and sync are
  compared as their sum.
W/C from outside (--wc-outside, for event-loop pools whose polls all wait for
  work): the busiest pool's w_c against (io + sleep) / cpu of its threads as
  the observer saw them, polls left out: ±20 %, or 0.25 where tiny (the
  line below which a pool is cpu-bound: no size changes within it).
Prints one line per check that failed and a summary line; exits 1 if any failed."""
import json, sys

CPU_TOL, CAUSE_TOL, ABS_TOL, PART_TOL = 0.05, 0.15, 0.020, 0.02


def near(x, t, rel, floor=ABS_TOL):
    return abs(x - t) <= max(rel * abs(t), ABS_TOL, floor)


def busiest(report):
    """The pool doing most of the CPU (the one --tasks, --wc, --class check), or None."""
    return max(report.get("pools", []), key=lambda p: p["cpu_s"], default=None)


def busy_label(report, label, names):
    """Is label the name of the pool doing most of the CPU (the one --tasks checks)?"""
    busy = busiest(report)
    return busy is not None and names.get(busy["id"]) == label


def one_answer(report, err):
    """The summary's and the profile's size, class and count against the report's."""
    import os, re
    fails = []
    by_name = {}
    for p in report.get("pools", []):
        by_name.setdefault(p.get("name") or p.get("entry") or p["start_routine"], p)
    summary = re.findall(r"\]:   pool (.+?): (\d+) threads, .* -> (\d+) threads \(([a-z-]+)\)", err)
    for name, n, rec, cls in set(summary):
        p = by_name.get(name)
        if p and (int(n), int(rec), cls) != (p["threads"], p["recommended_threads"], p["classification"]):
            fails.append(f"summary says pool {name}: {n} threads -> {rec} ({cls}); report "
                         f"{p['threads']} -> {p['recommended_threads']} ({p['classification']})")
    prof = (report.get("controller") or {}).get("profile")
    ids = {p["id"]: p for p in report.get("pools", [])}
    if prof and os.path.exists(prof):
        for pid, n, cls, rec in re.findall(r"^# pool (\d+) .*: (\d+) threads, ([a-z-]+), recommended (\d+):",
                                           open(prof).read(), re.M):
            p = ids.get(int(pid))
            if p and (int(n), cls, int(rec)) != (p["threads"], p["classification"], p["recommended_threads"]):
                fails.append(f"profile says pool {pid}: {n} threads, {cls}, {rec}; report "
                             f"{p['threads']}, {p['classification']}, {p['recommended_threads']}")
    return fails


def main():
    args = sys.argv[1:]
    case, md, want_tasks, want_wc, stderr_file, wc_outside = "", False, None, None, None, False
    sleep_known, want_class, cond_sleeps = None, None, False
    while args and args[0].startswith("--"):
        if args[0] == "--case": case = args[1]; args = args[2:]
        elif args[0] == "--markdown": md = True; args = args[1:]
        elif args[0] == "--tasks": want_tasks = int(args[1]); args = args[2:]
        elif args[0] == "--wc": want_wc = float(args[1]); args = args[2:]
        elif args[0] == "--stderr": stderr_file = args[1]; args = args[2:]
        elif args[0] == "--wc-outside": wc_outside = True; args = args[1:]
        elif args[0] == "--sleep-known": sleep_known = float(args[1]); args = args[2:]
        elif args[0] == "--class": want_class = args[1]; args = args[2:]
        elif args[0] == "--cond-sleeps": cond_sleeps = True; args = args[1:]
        else: sys.exit("compare.py: unknown option " + args[0])
    truth, report = (json.load(open(a)) for a in args)
    sampled = 0.0 if truth.get("shares") == "perf" else 0.03
    busy = busiest(report)
    T = {t["tid"]: t for t in truth["threads"]}
    fails, rows = [], []
    seen = [t for t in truth["threads"] if t["name"] != "poolshim"]
    R = {t["tid"]: t for t in report["threads"]}
    missing = [t["tid"] for t in seen if t["tid"] not in R and t["wall_s"] >= 0.05]
    if missing:
        fails.append(f"threads seen from outside but not in the report: {missing}")
    pools = {}
    idle_kind = {p["id"]: (p.get("idle_wait") or {}).get("kind") for p in report.get("pools", [])}
    worst_part = 0.0
    for t in report["threads"]:
        o = T.get(t["tid"])
        if not o or o["wall_s"] < 0.05 or t.get("wall_s") is None:
            continue
        w = t["wait_by_cause"]
        total = t["cpu_s"] + sum(w.values()) + (t.get("unattributed_s") or 0)
        part = abs(total - t["wall_s"]) / t["wall_s"]
        worst_part = max(worst_part, part)
        if part > PART_TOL:
            fails.append(f"tid {t['tid']}: cpu + causes = {total:.3f} s, wall {t['wall_s']:.3f} s")
        if t["tid"] == report.get("pid"):
            continue
        # a thread started under the observer's eyes: its whole life is known
        # (the first sight is up to a period late); the main thread ran before
        if t["tid"] != report.get("pid"):
            o = dict(o, cpu_s=o.get("cpu_total_s", o["cpu_s"]), runq_s=o.get("runq_total_s", o["runq_s"]))
        if not near(t["cpu_s"], o["cpu_s"], CPU_TOL):
            fails.append(f"tid {t['tid']}: cpu {t['cpu_s']:.3f} s, truth {o['cpu_s']:.3f} s")
        key = t["pool"] if t["pool"] is not None else f"tid {t['tid']}"
        p = pools.setdefault(key, {"threads": 0, "shim": {}, "truth": {}, "unseen": 0.0})
        p["threads"] += 1
        p["unseen"] += max(0.0, t["wall_s"] - o["wall_s"])
        # a pool's wait for work is a futex from outside, or a poll on its fd;
        # a thread's idle time is the latter where the observer saw it poll
        # at least as long as it waited on futexes: a pool's idle wait is the
        # one learned last, and a thread of multiprocessing's ThreadPool
        # labelled idle at a semaphore (learned first) is in a pool whose
        # idle wait became a poll
        b = o["blocked_s"]
        polled = idle_kind.get(t["pool"]) == "poll" and b.get("poll", 0) >= b.get("sync", 0)
        mine = {"cpu": t["cpu_s"], "runqueue": w["runqueue"],
                "sync": w["lock"] + w["cond"] + (0 if polled else w["idle"]),
                "sleep": w["sleep"], "io": w["io"] + (w["idle"] if polled else 0)}
        theirs = {"cpu": o["cpu_s"], "runqueue": o["runq_s"], "sync": b.get("sync", 0),
                  "sleep": b.get("sleep", 0), "io": b.get("io", 0) + b.get("poll", 0)}
        # W/C from outside, for pools whose every poll is their wait for work
        p.setdefault("wc_truth", [0.0, 0.0])
        p["wc_truth"][0] += b.get("io", 0) + b.get("sleep", 0)
        p["wc_truth"][1] += o["cpu_s"]
        for k in mine:
            p["shim"][k] = p["shim"].get(k, 0) + mine[k]
            p["truth"][k] = p["truth"].get(k, 0) + theirs[k]
    # what the user reads (the summary's and `poolshim report`'s name)
    names = {p["id"]: p.get("name") or p.get("entry") or p["start_routine"] for p in report.get("pools", [])}
    if sleep_known is not None:
        if busy and busy["id"] in pools:
            # the sleeps the sampler missed were counted under the other
            # causes: those share what is left of the blocked time
            tr = pools[busy["id"]]["truth"]
            blocked = sum(v for k, v in tr.items() if k not in ("cpu", "runqueue"))
            others = [k for k in tr if k not in ("cpu", "runqueue", "sleep")]
            seen = sum(tr[k] for k in others)
            for k in others:
                tr[k] = max(0.0, blocked - sleep_known) * tr[k] / seen if seen else 0.0
            tr["sleep"] = sleep_known
    if cond_sleeps:
        for key, p in pools.items():
            if busy and key == busy["id"]:
                continue
            for side in ("shim", "truth"):
                p[side]["sync"] += p[side]["sleep"]
                p[side]["sleep"] = 0.0
    if wc_outside:
        w, c = pools.get(busy["id"], {}).get("wc_truth", [0, 0]) if busy else (0, 0)
        truth = w / c if c else 0
        if not busy or busy["w_c"] is None or abs(busy["w_c"] - truth) > max(0.2 * truth, 0.25):
            fails.append(f"W/C {busy['w_c'] if busy else None}, outside {truth:.2f}")
    if stderr_file:
        fails += one_answer(report, open(stderr_file, errors="replace").read())
    task_cell = ""
    if want_wc is not None:
        if not busy or busy["w_c"] is None or abs(busy["w_c"] - want_wc) > max(0.2 * want_wc, 0.05):
            fails.append(f"W/C {busy['w_c'] if busy else None}, truth {want_wc}")
    if want_class is not None:
        if not busy or busy["classification"] != want_class:
            fails.append(f"class {busy['classification'] if busy else None}, truth {want_class}")
    if want_tasks is not None:
        got = busy.get("tasks") if busy else None
        task_cell = f"{got if got is not None else 'null'} / {want_tasks}"
        if got is None or abs(got - want_tasks) > 0.02 * want_tasks:
            fails.append(f"pool {names.get(busy['id']) if busy else '?'}: tasks {got}, truth {want_tasks}")
    for key, p in pools.items():
        label = names.get(key, key) if isinstance(key, int) else key
        errs = []
        blocked = p["truth"]["sync"] + p["truth"]["sleep"] + p["truth"]["io"]
        for k in ("cpu", "runqueue", "sync", "sleep", "io"):
            x, t = p["shim"][k], p["truth"][k]
            seen = x - min(max(x - t, 0.0), p["unseen"]) if k in ("sync", "sleep", "io") else x
            ok = near(x, t, CPU_TOL) if k == "cpu" else near(seen, t, CAUSE_TOL, sampled * blocked)
            if not ok:
                errs.append(k)
                fails.append(f"pool {label}: {k} {x:.3f} s, truth {t:.3f} s")
        rows.append((label, p["threads"], p["shim"], p["truth"], errs))
    if md:
        for label, n, s, t, errs in rows:
            cells = " | ".join(f"{s[k]:.3f} / {t[k]:.3f}" for k in ("cpu", "runqueue", "sync", "sleep", "io"))
            tasks = task_cell if busy_label(report, label, names) else ""
            print(f"| {case} | {label} | {n} | {cells} | {tasks} | {'ok' if not errs else 'off: ' + ', '.join(errs)} |")
    for f in fails:
        print(f"{case}: {f}", file=sys.stderr)
    print(f"{case}: {len(rows)} pools/threads checked, worst partition error {worst_part * 100:.2f} %, "
          f"{len(fails)} off", file=sys.stderr)
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
