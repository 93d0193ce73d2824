#!/usr/bin/env bash
# tput.sh KIND N [ARG]: runs a real program's pool at size N and prints its
# throughput as {"tasks_per_s": X}, the line sweep.py reads. Only the program
# itself runs under the shim (when LD_PRELOAD names it): this script, its
# tools and load clients run without it.
# TPUT_S sets the seconds of the timed kinds (sysbench threads/cpu, node-fs;
# default 1, node-fs 1.5): the controller's bench runs them longer.
#   sysbench-threads N   sysbench threads (default locks/yields), events/s over 1 s
#   sysbench-mutex N     sysbench mutex: each thread does a fixed amount, so N / time;
#                        200,000 locks a thread (TPUT_MUTEX_LOCKS), not the default
#                        50,000: runs of 0.3 s were mostly sysbench's own start, so
#                        8 threads read 1.3x as fast as 2 (9 vs 7/s), and 2 vs 8
#                        at 200,000 read 2.16 vs 2.26/s (medians of 5)
#   sysbench-cpu N       sysbench cpu, events/s over 1 s
#   pigz N FILE          pigz -p N -6 of FILE, bytes/s
#   zstd N FILE          zstd -T N -6 of FILE in jobs of 1 MiB, bytes/s
#   ripgrep-cold N DIR...  rg --threads N counting the word "the" in DIR..., from a
#                        cold page cache (drop_caches first: root), searches/s
#   node-fs N            node's fs pool (UV_THREADPOOL_SIZE=N), readFile ops/s over 1.5 s
#   memcached N          memcached -t N under memcslap (4 client threads, gets), keys/s
#   memcached-rt N LOAD  memcached -t N under bench/memc_load (path LOAD): 4
#                        connections of set+get round trips, requests/s. Steadier
#                        than memcslap's short get phase (52-104k/s for one size
#                        at load 5-9), so the truth sweep uses it.
#   memcached-load N LOAD  the same load for a fixed TPUT_S seconds (default 4)
#                        on TPUT_MEMC_CONNS connections (default 4), requests/s;
#                        its timeline is memc_load's own count every 100 ms
# TPUT_TIMELINE=FILE (optional) also writes the run's progress to FILE, one
# "t_s count" line per sample: count is cumulative, in the kind's unit (events,
# bytes of input, ops, keys), t is seconds from the start of the work. Taken
# from outside the shim: sysbench's own --report-interval=1 (a line a second,
# and its totals at the end); pigz's bytes written (/proc/PID/io wchar sampled
# every 0.1 s by this script, scaled to input bytes by the run's own ratio);
# node's count of finished readFile every 0.1 s (bench/node_fs_timed.js);
# memcached's cmd_get (its "stats", polled every 0.1 s by this script on a
# connection of its own; t from the sample before the first get: memcslap
# first stores its keys). With it, memcslap does TPUT_MEMC_GETS gets on each
# of its 4 threads (default 20000, ~0.2 s in all: too short for a timeline)
# and memcached gets -m 1024 so that every get hits (memcached-rt has no
# timeline). The throughput line on stdout is the same either way.
set -euo pipefail
P=${LD_PRELOAD:-}
unset LD_PRELOAD
kind=$1 n=$2
here=$(cd "$(dirname "$0")" && pwd)
run() { LD_PRELOAD=$P "$@"; }
json() { python3 -c "import sys; print('{\"tasks_per_s\": %.2f}' % float(sys.argv[1]))" "$1"; }
TL=${TPUT_TIMELINE:-}
# memcached on a random local port, answering when memc_start returns;
# -A: memc_stop's "shutdown" command ends it through exit(), so its report is
# written (this memcached catches SIGTERM and goes on). With a timeline, room
# for every key (-m 1024): every get is a hit, as in the default 20,000
# (memcslap's keys/s counts hits; the timeline, every get).
memc_start() {
    port=$((20000 + RANDOM % 20000))
    run memcached -A -u "$(id -un)" -t "$1" -p "$port" -U 0 -l 127.0.0.1 ${TL:+-m 1024} &
    pid=$!
    for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
}
memc_stop() {
    (exec 3<>/dev/tcp/127.0.0.1/$port; printf 'shutdown\r\n' >&3; sleep 0.2) 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
# sysbench_tl OUTPUT: the timeline from sysbench's per-second reports and its totals
sysbench_tl() {
    [ -n "$TL" ] || return 0
    awk '/^\[ [0-9]+s \]/ {t=$2; sub(/s/,"",t); for (i=1;i<=NF;i++) if ($i=="eps:") n+=$(i+1); print t, n}
         /total time:/ {tt=$NF+0} /total number of events:/ {e=$NF}
         BEGIN {print 0, 0} END {if (tt) print tt, e}' <<<"$1" >"$TL"
}
# memc_sample PID T0 PORT: memcached's cmd_get every 0.1 s until PID ends,
# "t value" lines to $TL (t from T0, epoch seconds).
memc_sample() {
    python3 - "$@" "$TL" <<'PY'
import socket, sys, time
pid, t0, port, out = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rows, s = [], None
def alive():
    try:
        return open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
def value():
    global s
    if s is None:
        s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"stats\r\n")
    buf = b""
    while not buf.endswith(b"END\r\n"):
        more = s.recv(65536)
        if not more:
            raise OSError("closed")
        buf += more
    return int(next(l for l in buf.split(b"\r\n") if l.startswith(b"STAT cmd_get ")).split()[2])
while alive():
    try:
        rows.append((time.time() - t0, value()))
    except (OSError, StopIteration, ValueError):
        s = None
    time.sleep(0.1)
open(out, "w").write("".join("%.3f %d\n" % r for r in rows))
PY
}
case $kind in
sysbench-threads)
    out=$(run sysbench threads --threads="$n" --time="${TPUT_S:-1}" ${TL:+--report-interval=1} run)
    sysbench_tl "$out"
    json "$(awk '/total number of events:/ {e=$NF} /total time:/ {t=$NF+0} END {print e/t}' <<<"$out")" ;;
sysbench-mutex)
    out=$(run sysbench mutex --threads="$n" --mutex-locks="${TPUT_MUTEX_LOCKS:-200000}" run)
    json "$(awk -v n="$n" '/total time:/ {t=$NF+0} END {print n/t}' <<<"$out")" ;;
sysbench-cpu)
    out=$(run sysbench cpu --threads="$n" --time="${TPUT_S:-1}" ${TL:+--report-interval=1} run)
    sysbench_tl "$out"
    json "$(awk '/events per second:/ {print $NF}' <<<"$out")" ;;
ripgrep-cold)
    sync
    echo 3 >/proc/sys/vm/drop_caches
    t0=$(date +%s.%N)
    run rg --threads "$n" -c -w the "${@:3}" >/dev/null
    t1=$(date +%s.%N)
    json "$(python3 -c "import sys; print(1 / (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$t1")" ;;
zstd)
    f=$3
    t0=$(date +%s.%N)
    run zstd -q -T"$n" -6 -B1MiB -c "$f" >/dev/null
    t1=$(date +%s.%N)
    json "$(python3 -c "import os,sys; print(os.path.getsize(sys.argv[1]) / (float(sys.argv[3]) - float(sys.argv[2])))" "$f" "$t0" "$t1")" ;;
pigz)
    f=$3
    if [ -z "$TL" ]; then
        t0=$(date +%s.%N)
        run pigz -p "$n" -6 -c "$f" >/dev/null
        t1=$(date +%s.%N)
    else
        # pigz as this sampler's child: its /proc/PID/io is read once more as
        # a zombie, before it is reaped, so the last sample holds every byte
        read -r t0 t1 < <(python3 - "$P" "$n" "$f" "$TL" <<'PY'
import os, subprocess, sys, time
pre, n, f, out = sys.argv[1:5]
env = dict(os.environ)
if pre:
    env["LD_PRELOAD"] = pre
t0 = time.time()
p = subprocess.Popen(["pigz", "-p", n, "-6", "-c", f], stdout=subprocess.DEVNULL, env=env)
rows, last = [], -1.0
while True:
    try:
        zombie = open("/proc/%d/stat" % p.pid).read().rsplit(")", 1)[1].split()[0] == "Z"
        now = time.time() - t0
        if zombie or now - last >= 0.1:
            with open("/proc/%d/io" % p.pid) as io:
                rows.append((now, int(next(l for l in io if l.startswith("wchar:")).split()[1])))
            last = now
    except (OSError, StopIteration, ValueError):
        zombie = True
    if zombie:
        break
    time.sleep(0.02)
if p.wait() != 0:
    sys.exit("pigz failed")
t1 = time.time()
# bytes written -> bytes of input, by this run's own ratio (the last sample
# holds every byte pigz wrote, and the shim's report: ~0.1 %)
k = os.path.getsize(f) / rows[-1][1] if rows and rows[-1][1] else 0
open(out, "w").write("0 0\n" + "".join("%.3f %d\n" % (t, w * k) for t, w in rows))
print("%.6f %.6f" % (t0, t1))
PY
        )
    fi
    json "$(python3 -c "import os,sys; print(os.path.getsize(sys.argv[1]) / (float(sys.argv[3]) - float(sys.argv[2])))" "$f" "$t0" "$t1")" ;;
node-fs)
    out=$(UV_THREADPOOL_SIZE=$n run node "$here/../../bench/node_fs_timed.js" "${TPUT_S:-1.5}")
    json "$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['ops_per_s'])" "$out")" ;;
memcached)
    memc_start "$n"
    if [ -n "$TL" ]; then
        memc_sample "$pid" "$(date +%s.%N)" "$port" &
        spid=$!
    fi
    gets=20000
    [ -z "$TL" ] || gets=${TPUT_MEMC_GETS:-20000}
    out=$(memcslap -s "127.0.0.1:$port" -c 4 -e "$gets" -t get 2>&1)
    memc_stop
    if [ -n "$TL" ]; then
        wait "$spid" || true
        # from the sample before the first get, to the first that saw the last one
        python3 - "$TL" <<'PY'
import sys
rows = [(float(t), int(n)) for t, n in (l.split() for l in open(sys.argv[1]))]
first = next((i for i, r in enumerate(rows) if r[1] > 0), None)
out = []
if first is not None:
    base_t, base_n = rows[max(first - 1, 0)]
    end = rows[-1][1]
    for t, n in rows[max(first - 1, 0):]:
        out.append("%.3f %d\n" % (t - base_t, n - base_n))
        if n >= end:
            break
open(sys.argv[1], "w").write("".join(out))
PY
    fi
    json "$(awk '/^Time to get/ {k=$4; s=$(NF-1)} END {print k/s}' <<<"$out")" ;;
memcached-load)
    # a fixed span (TPUT_S, default 4 s) of memc_load's round trips on
    # TPUT_MEMC_CONNS connections (default 4); the timeline is the client's
    # own count of finished requests every 100 ms (not memcached's stats)
    memc_start "$n"
    out=$(MEMC_DEPTH=${TPUT_MEMC_DEPTH:-1} "$3" "$port" "${TPUT_MEMC_CONNS:-4}" 0 "${TPUT_S:-4}" ${TL:+"$TL"})
    memc_stop
    json "$(python3 -c "import json,sys; r=json.loads(sys.argv[1]); assert r['errors'] == 0; print(r['requests'] / r['seconds'])" "$out")" ;;
memcached-rt)
    memc_start "$n"
    out=$("$3" "$port" 4 "${MEMC_TRIPS:-20000}")
    memc_stop
    json "$(python3 -c "import json,sys; r=json.loads(sys.argv[1]); assert r['errors'] == 0; print(r['requests'] / r['seconds'])" "$out")" ;;
*) echo "tput.sh: unknown kind $kind" >&2; exit 2 ;;
esac
