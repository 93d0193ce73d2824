#!/usr/bin/env python3
"""sweep.py: is the recommended size among the best static sizes?

  sweep.py SHIM.so NAME "CMD with {N}" START_N N1 N2 ... [--reps 5] [--follow K]

Runs CMD at START_N threads under the shim (POOLSHIM_CONTROL=advise) and
reads the pool's recommended_threads from its report; with --follow K, runs
it K times more at the size the last run recommended, in the same
POOLSHIM_DIR, so that each run's advice uses the earlier runs' sizes (the
shim's history, as a user following the advice gets it); then runs CMD without
the shim at every size N1 N2 ... (and the recommended size), --reps times in
alternating order, and compares median throughputs (the tasks_per_s the
program prints as its last JSON line). Prints one Markdown table row and
exits 1 when the recommended size's median is below 0.9 of the best's.
Throughput is the judge: no figure of the shim's enters the verdict."""
import json, os, statistics, subprocess, sys, tempfile


def tput(cmd, env=None):
    out = subprocess.run(cmd, shell=True, capture_output=True, text=True, env=env).stdout
    lines = [l for l in out.splitlines() if l.startswith("{")]
    return json.loads(lines[-1])["tasks_per_s"] if lines else 0.0


def advise(d, cmd, env):
    """Runs cmd under the shim in d; the program's pool in its report: the
    one whose pool (2 threads or more) did the most CPU (a wrapper script or
    a load client may report too), or a pool of one sized all the same (an
    OpenMP team of two: one worker and the master, in no pool)."""
    for f in os.listdir(d):
        if f.endswith(".json"):
            os.unlink(os.path.join(d, f))     # an earlier run's reports: the history file stays
    subprocess.run(cmd, shell=True, capture_output=True, env=env)
    pools = []
    for f in os.listdir(d):
        if f.endswith(".json") and ".dump." not in f:
            pools += [p for p in json.load(open(os.path.join(d, f))).get("pools", [])
                      if p.get("threads", 0) >= 2 or p.get("classification") not in (None, "single")]
    return max(pools, key=lambda p: p.get("cpu_s", 0)) if pools else None


def main():
    args = sys.argv[1:]
    reps, follow = 5, 0
    for opt in ("--reps", "--follow"):
        while opt in args:                    # given twice (run.sh's FOLLOW and a sweep's own): the last
            i = args.index(opt)
            if opt == "--reps":
                reps = int(args[i + 1])
            else:
                follow = int(args[i + 1])
            del args[i:i + 2]
    shim, name, cmd, start = args[0], args[1], args[2], int(args[3])
    sizes = [int(x) for x in args[4:]]
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, LD_PRELOAD=shim, POOLSHIM_DIR=d, POOLSHIM_CONTROL="advise", POOLSHIM_DUMP="off",
                   POOLSHIM_SUMMARY="off")
        path, n = [], start
        for _ in range(follow + 1):
            pool = advise(d, cmd.replace("{N}", str(n)), env)
            if not pool:
                print(f"| {name} | no pool in the report | | | | off |")
                return 1
            path.append(n)
            n = int(pool["recommended_threads"])
    rec = n
    start = " → ".join(str(k) for k in path)
    all_sizes = sorted(set(sizes + [rec]))
    res = {n: [] for n in all_sizes}
    for r in range(reps):
        for n in (all_sizes if r % 2 == 0 else all_sizes[::-1]):
            res[n].append(tput(cmd.replace("{N}", str(n))))
    med = {n: statistics.median(v) for n, v in res.items()}
    best = max(med, key=med.get)
    good = [n for n in all_sizes if med[n] >= 0.9 * med[best]]
    ratio = med[rec] / med[best] if med[best] else 0
    verdict = "ok" if ratio >= 0.9 else "off"
    # 3 significant digits where a rate is small (sysbench mutex: 1.8 to 2.3 runs/s)
    fmt = lambda v: f"{v:.0f}" if v >= 100 else f"{v:.3g}"
    curve = ", ".join(f"{n}: {fmt(med[n])}" for n in all_sizes)
    print(f"| {name} | {start} | {rec} ({pool['classification']}, W/C {pool['w_c']:.2f}, goetz "
          f"{pool['goetz_threads']:.1f}) | {best} | {min(good)}-{max(good)} | {ratio:.2f} | {curve} | {verdict} |")
    return 0 if verdict == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
