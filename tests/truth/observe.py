#!/usr/bin/env python3
"""observe.py: the truth about a program's threads, taken from outside it.

Runs CMD (with whatever environment it is given: under the shim or not) and,
from this separate process, samples /proc/PID/task/*/{stat,syscall} every
PERIOD seconds and reads each thread's schedstat. It never trusts the shim's
own view. Per thread it writes:
  cpu_s, runq_s   schedstat (the kernel's exact accounts), last reading less
                  the first; cpu_total_s, runq_total_s since the thread began
                  (a thread is first seen up to PERIOD after it starts);
  wall_s          first to last sight;
  blocked_s       by cause: its blocked time (wall - cpu - runq, exact but
                  for the first and last sight) shared among the causes in
                  the proportions the samples saw: a thread in state S or D
                  counts for the cause of the system call it is in (futex ->
                  sync, nanosleep -> sleep, read/recv/... -> io, poll,
                  select and epoll_wait -> poll: an event loop's wait for
                  work, or a wait for I/O, which outside cannot tell). Sampling
                  alone is biased on a loaded machine (this process runs
                  late, after the wake-ups), so only the shares come from it.
                  futex waits are lock, condvar, semaphore or wait for work:
                  from outside they cannot be told apart, hence one "sync".
Usage: observe.py [--period S] [--out FILE] -- CMD...
Prints the JSON (or writes FILE); exits with CMD's status."""
import json, os, subprocess, sys, time

IO = {0, 1, 17, 18, 19, 20, 43, 44, 45, 46, 47, 42, 233, 288, 295, 296,
      299, 307, 327, 328, 74, 75, 40, 275, 426}
POLL = {7, 23, 232, 270, 271, 281, 441}   # poll, select, epoll_wait, pselect6, ppoll, epoll_pwait(2)
SLEEP = {35, 230, 34}
SYNC = {202}           # futex
WAIT = {61, 247}       # wait4, waitid


def cause_of(nr):
    if nr in SYNC: return "sync"
    if nr in SLEEP: return "sleep"
    if nr in IO: return "io"
    if nr in POLL: return "poll"
    if nr in WAIT: return "sync"
    return "other"


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("ascii", "replace")
    except OSError:
        return None


def main():
    args = sys.argv[1:]
    period, out = 0.004, None
    while args and args[0] != "--":
        if args[0] == "--period": period = float(args[1]); args = args[2:]
        elif args[0] == "--out": out = args[1]; args = args[2:]
        else: sys.exit("observe.py: unknown option " + args[0])
    cmd = args[1:]
    if not cmd: sys.exit(__doc__)
    p = subprocess.Popen(cmd)
    threads = {}
    t0 = time.monotonic()
    last = t0
    while p.poll() is None:
        now = time.monotonic()
        dt = now - last
        last = now
        try:
            tids = os.listdir(f"/proc/{p.pid}/task")
        except OSError:
            break
        for tid in tids:
            base = f"/proc/{p.pid}/task/{tid}/"
            st = read(base + "stat")
            ss = read(base + "schedstat")
            if not st or not ss:
                continue
            state = st[st.rindex(")") + 2]
            name = st[st.index("(") + 1:st.rindex(")")]
            th = threads.get(tid)
            if th is None:
                th = threads[tid] = {"tid": int(tid), "name": name, "first": now, "blocked": {},
                                     "samples": 0}
                f = ss.split()
                th["cpu0"], th["runq0"] = int(f[0]), int(f[1])
            th["name"] = name
            th["last"] = now
            f = ss.split()
            th["cpu"], th["runq"] = int(f[0]), int(f[1])
            th["samples"] += 1
            if state in "SD" and th["samples"] > 1:
                sc = read(base + "syscall")
                # "running": it woke between the two reads; the sample says nothing
                if sc and (sc[0].isdigit() or sc.startswith("-1")):
                    c = cause_of(int(sc.split()[0]))
                    th["blocked"][c] = th["blocked"].get(c, 0.0) + dt
        time.sleep(period)
    rc = p.wait()
    res = {"cmd": cmd, "period_s": period, "wall_s": time.monotonic() - t0, "threads": []}
    for th in threads.values():
        cpu = (th["cpu"] - th["cpu0"]) / 1e9
        runq = (th["runq"] - th["runq0"]) / 1e9
        wall = th["last"] - th["first"]
        blocked = max(0.0, wall - cpu - runq)
        seen = sum(th["blocked"].values())
        res["threads"].append({"tid": th["tid"], "name": th["name"],
                               "cpu_s": cpu, "cpu_total_s": th["cpu"] / 1e9,
                               "runq_s": runq, "runq_total_s": th["runq"] / 1e9, "wall_s": wall,
                               "samples": th["samples"], "blocked_total_s": blocked,
                               "blocked_sampled_s": th["blocked"],
                               "blocked_s": {c: blocked * v / seen for c, v in th["blocked"].items()}
                                            if seen > 0 else {}})
    text = json.dumps(res, indent=1)
    if out:
        with open(out + ".tmp", "w") as f: f.write(text)
        os.replace(out + ".tmp", out)
    else:
        print(text)
    sys.exit(rc)


if __name__ == "__main__":
    main()
