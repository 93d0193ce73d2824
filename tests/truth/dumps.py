#!/usr/bin/env python3
"""dumps.py: dumps the program cannot see (issue 11's acceptance), on
tests/fixtures/sleep_holder: a lock held across 300 ms sleeps (in hold_stats,
inlined into holder), four workers waiting on it, and threads that check their
own waits in poll, epoll_wait, sem_timedwait, pthread_cond_timedwait, sleep
and read on a pipe (the fixture prints which came back early or with EINTR).

Paths, each taking N dumps while the program runs:
  run-auto    poolshim run (POOLSHIM_DUMP_CAPTURE=auto): convoy dumps taken by
              the supervising run by ptrace
  run-ptrace  poolshim run --dump-capture ptrace: the same, forced
  signal      LD_PRELOAD with POOLSHIM_DUMP_CAPTURE=signal: the shim's
              in-process capture (the dump signal), waits restarted by its wrappers
  external    the program NOT under the shim, `poolshim dump PID` N times
Checks, per path: N dumps, taken the expected way; no wait cut short nor
EINTR (external: only the calls signal(7) lists as failing after a stop,
here epoll_wait, may fail); in every dump each waiter on the mutex names
stats_lock and its owner, the holder, whose stack is in hold_stats (inlined
in holder, at the line that sleeps; counted: how often it was caught asleep
rather than between its sleep and its unlock, which a loaded machine
stretches); `poolshim show` names the inlined helper with its file:line,
shows no frame of the shim, names every frame down to each thread's start
(libc's too when its debug file is installed); under the shim the report's
dumps[] lists them with the capture, and no picture file is left. At least
half the dumps (one of 3) must catch a waiter: dumps from outside come at any
moment, and a convoy may dissolve between the shim seeing it and the
supervisor's stop.
Usage: dumps.py BUILD [--dumps N] [--paths a,b] [--markdown]
Exit 0 when every path passes; --markdown prints one table row per path."""
import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

CALLS = ["nanosleep", "poll", "epoll_wait", "sem_timedwait", "pthread_cond_timedwait", "sleep", "read"]
# signal(7), "Interruption of system calls and library functions by stop
# signals": of the calls above only epoll_wait fails with EINTR after a stop.
AFTER_STOP_EINTR = {"epoll_wait"}
EXPECT = {"run-auto": "ptrace", "run-ptrace": "ptrace", "signal": "signal", "external": "ptrace"}


def libc_debug_installed():
    """Is the separate debug file of the libc this machine runs installed?"""
    try:
        out = subprocess.run(["readelf", "-n", "/lib/x86_64-linux-gnu/libc.so.6"], capture_output=True,
                             text=True).stdout
        bid = out.split("Build ID:")[1].split()[0]
    except (OSError, IndexError):
        return False
    return os.path.exists("/usr/lib/debug/.build-id/%s/%s.debug" % (bid[:2], bid[2:]))


def fixture_argv(build, n):
    # Convoy dumps come at most once a second: room for n of them, and a loaded machine.
    run_ms = 1300 * n + 2500
    return [os.path.join(build, "fixtures/sleep_holder"), "--workers", "4", "--checkers", "1",
            "--run-ms", str(run_ms)], run_ms


def run_under_shim(build, path, n, d):
    argv, run_ms = fixture_argv(build, n)
    env = dict(os.environ, POOLSHIM_DUMP_MAX=str(n), POOLSHIM_DUMP_INTERVAL_S="0", POOLSHIM_SUMMARY="off")
    if path == "signal":
        env.update(LD_PRELOAD=os.path.join(build, "libpoolshim.so"), POOLSHIM_DIR=d, POOLSHIM_DUMP_CAPTURE="signal")
        cmd = argv
    else:
        cmd = [os.path.join(build, "poolshim"), "run", "--dir", d]
        if path == "run-ptrace":
            cmd += ["--dump-capture", "ptrace"]
        cmd += ["--"] + argv
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=run_ms / 1000 + 60)
    return p.returncode, p.stdout, p.stderr


def run_external(build, n, d):
    argv, run_ms = fixture_argv(build, n)
    argv[-1] = str(max(3000, 300 * n + 2500))       # no rate limit from outside: 0.1 s apart
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.4)
    errs = []
    for _ in range(n):
        a = subprocess.run([os.path.join(build, "poolshim"), "dump", "--dir", d, "--json", str(p.pid)],
                           capture_output=True, text=True, timeout=60)
        if a.returncode:
            errs.append(a.stderr.strip())
        time.sleep(0.1)
    out, err = p.communicate(timeout=120)
    return p.returncode, out, err + "\n".join(errs)


def frames_named(groups, libc_dbg, problems, name):
    """Every group's frames named down to the thread's start; no shim frame."""
    for g in groups:
        frames = g.get("frames") or []
        reached = False
        for f in frames:
            mod = os.path.basename(f.get("module") or "")
            if "libpoolshim" in mod:
                problems.append("%s: a frame of the shim is shown (%s)" % (name, f.get("symbol")))
            sym = f.get("symbol")
            if not reached and not sym:
                problems.append("%s: unnamed frame %s in %s" % (name, f.get("addr"), mod))
            # assembly without line rows: the thread's start, and the sigreturn
            # trampoline below a program's signal handler (its checkers' SIGUSR1)
            if libc_dbg and mod.startswith("libc.so") and not f.get("line") and \
                    sym not in ("__clone3", "_start", "__restore_rt"):
                problems.append("%s: libc frame %s without file:line" % (name, sym))
            if sym in ("start_thread", "__libc_start_main", "__libc_start_call_main"):
                reached = True
        if frames and not reached:
            problems.append("%s: a stack (%s) does not reach its thread's start" % (name, frames[0].get("symbol")))


def check_dump(build, path, dump_file, truth, libc_dbg, problems, pauses, counts):
    d = json.load(open(dump_file))
    name = os.path.basename(dump_file)
    cap = d.get("capture") or {}
    if cap.get("method") != EXPECT[path]:
        problems.append("%s: capture %s, not %s (%s)" % (name, cap.get("method"), EXPECT[path], cap.get("why")))
    if path != "external" and (d.get("trigger") or {}).get("reason") != "convoy":
        problems.append("%s: trigger %s" % (name, d.get("trigger")))
    pauses.append(cap.get("pause_ms") if cap.get("method") == "ptrace" else cap.get("wall_ms"))
    holder = truth["holder"]
    waiters = 0
    owners = []                           # the waiters' owner problems, judged below
    holder_asleep = holder_moved = False
    for t in d.get("threads", []):
        b = t.get("blocked_on") or {}
        if t.get("tid") == holder and b.get("kind") == "sleep":
            counts["asleep"] += 1         # else caught between its sleep and its unlock (a loaded machine)
            holder_asleep = True
            holder_moved = b.get("ended_before_stack") is True
        if b.get("kind") != "mutex":
            continue
        waiters += 1
        if b.get("owner") != holder:
            owners.append("%s: thread %s waits on a mutex owned by %s, not the holder %d" %
                          (name, t.get("tid"), b.get("owner"), holder))
    counts["waiters"] += waiters > 0
    show = subprocess.run([os.path.join(build, "poolshim"), "show", "--json", dump_file], capture_output=True,
                          text=True, timeout=60)
    if show.returncode:
        problems.append("%s: poolshim show failed: %s" % (name, show.stderr.strip()))
        return
    a = json.loads(show.stdout)
    groups = a.get("groups") or []
    frames_named(groups, libc_dbg, problems, name)
    for g in groups:       # the lock by its symbol (the shim's dumps are named when read)
        for b in g.get("blocked_on") or []:
            if b.get("kind") == "mutex" and b.get("name") != "stats_lock":
                problems.append("%s: the mutex is named %s, not stats_lock" % (name, b.get("name")))
    # The holder is in hold_stats whenever someone waits (it owns the lock):
    # its frame names the inlined helper with the line that sleeps.
    inlined = False
    for g in groups:
        if holder not in (g.get("tids") or []):
            continue
        for f in g.get("frames") or []:
            for i in f.get("inlined") or []:
                if i.get("symbol") == "hold_stats" and (i.get("file") or "").endswith("sleep_holder.c") and \
                        i.get("line") == truth["hold_line"] and f.get("symbol") == "holder":
                    inlined = True
    # Between two holds the holder sleeps 1 ms outside the lock (sleep_holder.c:
    # "lets a worker in"): a dump then finds the waiters on a lock that is free
    # or a worker's, and the holder asleep outside hold_stats. That is the
    # truth, not an error; one_path allows it in one dump or a fifth of them.
    # So is a holder whose sleep in hold_stats ran out after the dump read
    # the waits and before it took the holder's stack (the dump says so:
    # ended_before_stack); its waiters' owner is still the holder.
    between = waiters and not inlined and holder_asleep and (owners or holder_moved)
    if between:
        counts["between"] += 1
    else:
        problems.extend(owners)
        if waiters and not inlined:
            problems.append("%s: the holder's stack does not show hold_stats at sleep_holder.c:%d inlined in holder" %
                            (name, truth["hold_line"]))
    counts["inlined"] += inlined
    text = subprocess.run([os.path.join(build, "poolshim"), "show", dump_file], capture_output=True, text=True,
                          timeout=60).stdout
    if inlined and "hold_stats at sleep_holder.c:%d (inlined)" % truth["hold_line"] not in text:
        problems.append("%s: the text answer does not show hold_stats at sleep_holder.c:%d (inlined)" %
                        (name, truth["hold_line"]))
    if waiters and "stats_lock" not in text:
        problems.append("%s: the text answer does not name stats_lock" % name)


def one_path(build, path, n, libc_dbg):
    d = tempfile.mkdtemp(prefix="poolshim-dumps.")
    try:
        if path == "external":
            rc, out, err = run_external(build, n, d)
        else:
            rc, out, err = run_under_shim(build, path, n, d)
        problems, pauses = [], []
        try:
            truth = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"path": path, "problems": ["no truth line (exit %d): %s" % (rc, err.strip()[-300:])],
                    "short": True}
        if rc:
            problems.append("the program exited %d: %s" % (rc, err.strip()[-300:]))
        files = sorted(glob.glob(os.path.join(d, "poolshim.*.dump.*.json")),
                       key=lambda f: int(f.rsplit(".", 2)[-2]))
        short = len(files) < n
        if len(files) != n:
            problems.append("%d dumps, not %d" % (len(files), n))
        counts = {"waiters": 0, "asleep": 0, "inlined": 0, "between": 0}
        for f in files:
            check_dump(build, path, f, truth, libc_dbg, problems, pauses, counts)
        # Taken at any moment from outside, most dumps still catch a waiter
        # (the lock is held 300 of every ~301 ms; the workers come back to
        # wait 20 ms after each release: ~93 % of the time someone waits).
        # A convoy dump by ptrace is taken a few ms after the shim saw the
        # convoy; on a loaded machine the hold may have ended meanwhile (2 of
        # 20 at load 15): the instant is still true, with no waiter in it.
        if counts["between"] > max(1, n // 5):
            problems.append("%d of %d dumps found the holder between its holds: its 1 ms there is 0.3 %% of "
                            "its time" % (counts["between"], n))
        if counts["waiters"] < max(1, n // 2):
            problems.append("only %d of %d dumps caught a thread waiting on the mutex" % (counts["waiters"], n))
        cut = truth.get("cut", {})
        allowed = AFTER_STOP_EINTR if path == "external" else set()
        for c in CALLS:
            if c not in cut:
                problems.append("the fixture did not check %s" % c)
            elif cut[c] and c not in allowed:
                problems.append("%s cut short or EINTR %d times" % (c, cut[c]))
        if path != "external":
            rep = [f for f in glob.glob(os.path.join(d, "poolshim.*.json")) if ".dump." not in f]
            listed = json.load(open(rep[0])).get("dumps", []) if rep else []
            if len(listed) != min(n, 16):
                problems.append("the report lists %d dumps" % len(listed))
            for e in listed:
                if e.get("capture") != EXPECT[path]:
                    problems.append("the report says %s was taken by %s" % (e.get("file"), e.get("capture")))
            if glob.glob(os.path.join(d, "*picture*")):
                problems.append("a picture file was left behind")
        return {"path": path, "dumps": len(files), "truth": truth, "problems": problems, "short": short,
                "counts": counts,
                "pauses": [p for p in pauses if isinstance(p, (int, float))]}
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--dumps", type=int, default=20)
    ap.add_argument("--paths", default="run-auto,run-ptrace,signal,external")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    libc_dbg = libc_debug_installed()
    if not libc_dbg:
        print("dumps: libc's debug file is not installed (libc6-dbg): libc frames are not checked for file:line",
              file=sys.stderr)
    fails = 0
    for path in args.paths.split(","):
        r = one_path(build, path, args.dumps, libc_dbg)
        if r["problems"] and r.get("short"):
            # Too few dumps is the machine's load (convoys are seen per tick): the whole attempt once more.
            print("dumps: %s: %s; retrying once" % (path, "; ".join(r["problems"][:3])), file=sys.stderr)
            r = one_path(build, path, args.dumps, libc_dbg)
        ok = not r["problems"]
        fails += not ok
        t = r.get("truth") or {}
        cut = t.get("cut", {})
        cuts = ", ".join("%s %d" % (c, cut[c]) for c in CALLS if cut.get(c)) or "none"
        p = r.get("pauses") or [0]
        c = r.get("counts") or {}
        line = "| %s | %d | %s | %d | %s | %d / %d / %d | %.2f / %.2f | %s |" % (
            path, r.get("dumps", 0), EXPECT[path], t.get("sleeps", 0), cuts, c.get("waiters", 0),
            c.get("asleep", 0), c.get("inlined", 0), statistics.median(p), max(p),
            "ok" if ok else "off: " + "; ".join(r["problems"][:4]))
        if args.markdown:
            print(line)
        else:
            print("dumps %s: %s" % (path, "ok" if ok else "FAILED"))
            for q in r["problems"]:
                print("  " + q)
            print("  " + line)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
