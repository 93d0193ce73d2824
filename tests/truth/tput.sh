#!/usr/bin/env bash
# tput.sh KIND N [ARG]: runs a real program's pool at size N and prints its
# throughput as {"tasks_per_s": X}, the line sweep.py reads. Only the program
# itself runs under the shim (when LD_PRELOAD names it): this script, its
# tools and load clients run without it.
# TPUT_S sets the seconds of the timed kinds (sysbench threads/cpu, node-fs;
# default 1, node-fs 1.5): the controller's bench runs them longer.
#   sysbench-threads N   sysbench threads (default locks/yields), events/s over 1 s
#   sysbench-mutex N     sysbench mutex: each thread does a fixed amount, so N / time
#   sysbench-cpu N       sysbench cpu, events/s over 1 s
#   pigz N FILE          pigz -p N -6 of FILE, bytes/s
#   node-fs N            node's fs pool (UV_THREADPOOL_SIZE=N), readFile ops/s over 1.5 s
#   memcached N          memcached -t N under memcslap (4 client threads, gets), keys/s
#   memcached-rt N LOAD  memcached -t N under bench/memc_load (path LOAD): 4
#                        connections of set+get round trips, requests/s. Steadier
#                        than memcslap's short get phase (52-104k/s for one size
#                        at load 5-9), so the truth sweep uses it.
set -euo pipefail
P=${LD_PRELOAD:-}
unset LD_PRELOAD
kind=$1 n=$2
here=$(cd "$(dirname "$0")" && pwd)
run() { LD_PRELOAD=$P "$@"; }
json() { python3 -c "import sys; print('{\"tasks_per_s\": %.2f}' % float(sys.argv[1]))" "$1"; }
# memcached on a random local port, answering when memc_start returns;
# -A: memc_stop's "shutdown" command ends it through exit(), so its report is
# written (this memcached catches SIGTERM and goes on).
memc_start() {
    port=$((20000 + RANDOM % 20000))
    run memcached -A -u "$(id -un)" -t "$1" -p "$port" -U 0 -l 127.0.0.1 &
    pid=$!
    for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
}
memc_stop() {
    (exec 3<>/dev/tcp/127.0.0.1/$port; printf 'shutdown\r\n' >&3; sleep 0.2) 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
case $kind in
sysbench-threads)
    out=$(run sysbench threads --threads="$n" --time="${TPUT_S:-1}" run)
    json "$(awk '/total number of events:/ {e=$NF} /total time:/ {t=$NF+0} END {print e/t}' <<<"$out")" ;;
sysbench-mutex)
    out=$(run sysbench mutex --threads="$n" run)
    json "$(awk -v n="$n" '/total time:/ {t=$NF+0} END {print n/t}' <<<"$out")" ;;
sysbench-cpu)
    out=$(run sysbench cpu --threads="$n" --time="${TPUT_S:-1}" run)
    json "$(awk '/events per second:/ {print $NF}' <<<"$out")" ;;
pigz)
    f=$3
    t0=$(date +%s.%N)
    run pigz -p "$n" -6 -c "$f" >/dev/null
    t1=$(date +%s.%N)
    json "$(python3 -c "import os,sys; print(os.path.getsize(sys.argv[1]) / (float(sys.argv[3]) - float(sys.argv[2])))" "$f" "$t0" "$t1")" ;;
node-fs)
    out=$(UV_THREADPOOL_SIZE=$n run node "$here/../../bench/node_fs_timed.js" "${TPUT_S:-1.5}")
    json "$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['ops_per_s'])" "$out")" ;;
memcached)
    memc_start "$n"
    out=$(memcslap -s "127.0.0.1:$port" -c 4 -e 20000 -t get 2>&1)
    memc_stop
    json "$(awk '/^Time to get/ {k=$4; s=$(NF-1)} END {print k/s}' <<<"$out")" ;;
memcached-rt)
    memc_start "$n"
    out=$("$3" "$port" 4 "${MEMC_TRIPS:-20000}")
    memc_stop
    json "$(python3 -c "import json,sys; r=json.loads(sys.argv[1]); assert r['errors'] == 0; print(r['requests'] / r['seconds'])" "$out")" ;;
*) echo "tput.sh: unknown kind $kind" >&2; exit 2 ;;
esac
