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
With --exact (perf and the kernel's sched tracepoints, as root), the shares
come instead from every time a thread blocked: `perf record -a` of
sched_switch (with the kernel stack of the thread switched out, which names
the system call it blocked in) and sched_wakeup, from the switch to the
wake-up; the wait for a core after the wake-up is run queue, as in
schedstat. A futex, timer or poll wait is named by its kernel function, a
wait for the disk (io_schedule) is io whatever the system call (a page
fault of a mapped file, a directory read), any other by its system call as
the samples do. Exact where 4 ms samples are not: node's fs workers block
for 0.05-4 ms in reads, on the mmap lock, and the samples' io of that pool
was off the exact figure by up to 39 ms. The
output says which ("shares": "perf" or "samples": where perf lost events,
its buffers full, the samples' shares stand); a thread perf never saw block
keeps its samples' shares.
Usage: observe.py [--period S] [--exact] [--out FILE] -- CMD...
       observe.py --can-exact: exits 0 where --exact can record, 1 where not.
Prints the JSON (or writes FILE); exits with CMD's status."""
import json, os, re, select, shutil, signal, subprocess, sys, tempfile, time

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


# the system call a kernel stack blocked in: its syscall entry's name
SYSCALL_FRAME = re.compile(r"^(?:__x64_sys_|__do_sys_|__se_sys_|ksys_|do_sys_)(\w+?)(?:2)?$")
NAMES = {"read": 0, "write": 1, "pread64": 17, "pwrite64": 18, "readv": 19, "writev": 20,
         "connect": 42, "accept": 43, "sendto": 44, "recvfrom": 45, "sendmsg": 46, "recvmsg": 47,
         "accept4": 288, "preadv": 295, "pwritev": 296, "recvmmsg": 299, "sendmmsg": 307,
         "preadv2": 327, "pwritev2": 328, "fsync": 74, "fdatasync": 75, "sendfile64": 40,
         "splice": 275, "io_uring_enter": 426, "poll": 7, "select": 23, "epoll_wait": 232,
         "pselect6": 270, "ppoll": 271, "epoll_pwait": 281, "epoll_pwait2": 441,
         "nanosleep": 35, "clock_nanosleep": 230, "pause": 34, "futex": 202,
         "wait4": 61, "waitid": 247}


def stack_cause(frames):
    """The cause of a block whose kernel stack (innermost first) is FRAMES:
    a futex, timer or poll wait by its function; a wait for the disk
    (io_schedule: a read, a page fault on a mapped file, a directory read,
    an open on a cold cache) is io whatever the system call; else by the
    system call, as the samples do."""
    for f in frames:
        if f.startswith("futex_wait") or f == "futex_wait_multiple":
            return "sync"
        if f in ("do_nanosleep", "hrtimer_nanosleep", "common_nsleep"):
            return "sleep"
        if f in ("ep_poll", "do_sys_poll", "do_select", "core_sys_select"):
            return "poll"
        if f in ("io_schedule", "io_schedule_timeout"):
            return "io"
    for f in frames:
        m = SYSCALL_FRAME.match(f)
        if m and m.group(1) in NAMES:
            return cause_of(NAMES[m.group(1)])
    return "other"


def perf_usable():
    try:
        r = subprocess.run(["perf", "record", "-a", "-q", "-o", "/dev/null", "-e", "sched:sched_switch",
                            "--", "true"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=20)
        return r.returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def start_perf():
    """perf record over the machine, returned once its events are on: it
    starts them off (--delay=-1) and acknowledges the "enable" sent on its
    control fifo. Returns the process and its data file, or (None, None)
    when it exited or did not answer within 20 s."""
    tmp = tempfile.mkdtemp(prefix="observe.")
    ctl, ack = os.path.join(tmp, "ctl"), os.path.join(tmp, "ack")
    os.mkfifo(ctl)
    os.mkfifo(ack)
    data = os.path.join(tmp, "perf.data")
    perf = subprocess.Popen(["perf", "record", "-a", "-q", "-m", "16M", "-o", data, "--delay=-1",
                             f"--control=fifo:{ctl},{ack}", "-e", "sched:sched_switch",
                             "-e", "sched:sched_wakeup", "--kernel-callchains", "-g"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # both ends opened read-write: no open blocks, whether or not perf is up
    c, a = os.open(ctl, os.O_RDWR), os.open(ack, os.O_RDWR)
    os.write(c, b"enable\n")
    answer = b""
    for _ in range(100):                    # 20 s, unless perf has exited
        ready, _, _ = select.select([a], [], [], 0.2)
        if ready:
            answer = os.read(a, 64)
            break
        if perf.poll() is not None:
            break
    os.close(c)
    os.close(a)
    if not answer.startswith(b"ack"):
        perf.kill()
        perf.wait()
        shutil.rmtree(tmp)
        print("observe.py: perf did not start recording: the samples' shares stand", file=sys.stderr)
        return None, None
    return perf, data


def perf_lost(data):
    """Events perf could not keep (its buffers full): then its blocks are not
    all there, and the samples' shares stand."""
    r = subprocess.run(["perf", "report", "-i", data, "--stats"], capture_output=True, text=True)
    lost = re.findall(r"LOST(?:_SAMPLES)? events:\s+(\d+)", r.stdout)
    return r.returncode != 0 or any(int(n) for n in lost)


def perf_blocked(data, tids):
    """Per tid, the seconds blocked by cause, from a perf record of
    sched_switch (kernel stacks) and sched_wakeup over the whole machine."""
    out = {t: {} for t in tids}
    count = {t: {} for t in tids}
    blocked = {}            # tid -> (since, cause) while blocked

    def ended(tid, t):      # tid's block ends at t (woken, or switched in)
        since, c = blocked.pop(tid)
        out[tid][c] = out[tid].get(c, 0.0) + t - since
        count[tid][c] = count[tid].get(c, 0) + 1
    p = subprocess.Popen(["perf", "script", "-i", data, "-F", "tid,time,event,trace,ip,sym"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, errors="replace")
    ev = None               # the switch whose stack is being read: (tid, time, frames)

    def close_switch():
        tid, t, frames = ev
        blocked[tid] = (t, stack_cause(frames))
    for line in p.stdout:
        parts = line.split()
        if len(parts) >= 2 and not parts[1].endswith(":"):     # a stack frame: ip symbol
            if ev is not None:
                ev[2].append(parts[1].split("+")[0])
            continue
        if ev is not None:
            close_switch()
            ev = None
        m = re.match(r"^\s*\d+\s+(\d+\.\d+):\s+sched:(\w+):\s(.*)$", line)
        if not m:
            continue
        t, name, args = float(m.group(1)), m.group(2), m.group(3)
        a = dict(re.findall(r"(\w+)=(\S+)", args))
        if name == "sched_switch":
            prev, nxt = int(a["prev_pid"]), int(a["next_pid"])
            if nxt in blocked:              # switched in without a wake-up seen
                ended(nxt, t)
            if prev in out and not a["prev_state"].startswith("R"):
                ev = (prev, t, [])
        elif name.startswith("sched_wakeup"):
            tid = int(a["pid"])
            if tid in blocked:
                ended(tid, t)
    if ev is not None:
        close_switch()
    p.wait()
    return out, count


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("ascii", "replace")
    except OSError:
        return None


def main():
    args = sys.argv[1:]
    if args == ["--can-exact"]:
        sys.exit(0 if perf_usable() else 1)
    period, out, exact = 0.004, None, False
    while args and args[0] != "--":
        if args[0] == "--period": period = float(args[1]); args = args[2:]
        elif args[0] == "--out": out = args[1]; args = args[2:]
        elif args[0] == "--exact": exact = True; args = args[1:]
        else: sys.exit("observe.py: unknown option " + args[0])
    cmd = args[1:]
    if not cmd: sys.exit(__doc__)
    perf = data = None
    if exact:
        if not perf_usable():
            sys.exit("observe.py: --exact needs perf and the sched tracepoints (root)")
        perf, data = start_perf()
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
    wall = time.monotonic() - t0
    shares = "samples"
    if perf:
        perf.send_signal(signal.SIGINT)
        perf.wait()
        if perf_lost(data):
            print("observe.py: perf lost events: the samples' shares stand", file=sys.stderr)
        else:
            seen, count = perf_blocked(data, {int(t) for t in threads})
            for tid, by in seen.items():
                if by:
                    threads[str(tid)]["blocked"] = by
                    threads[str(tid)]["blocks"] = count[tid]
            shares = "perf"
        shutil.rmtree(os.path.dirname(data))
    res = {"cmd": cmd, "period_s": period, "shares": shares, "wall_s": wall, "threads": []}
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
                               "blocked_seen_s": th["blocked"], "blocks": th.get("blocks"),
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
