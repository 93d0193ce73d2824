#!/usr/bin/env bash
# bench/memc_run.bash: memcached under load, as one command to time (alloc.sh).
# Starts memcached -t 4 on a free local port, with LD_PRELOAD=$MEMC_PRELOAD
# when set (so only memcached runs under the shim), waits until it answers,
# runs the load (bench/memc_load PORT THREADS TRIPS), stops memcached with
# SIGTERM and waits for it (its report is written at exit).
# Usage: bash bench/memc_run.bash MEMC_LOAD THREADS TRIPS
set -uo pipefail
load=$1 threads=$2 trips=$3
port=$((20000 + RANDOM % 20000))
user=(); [ "$(id -u)" = 0 ] && user=(-u nobody)   # memcached refuses to run as root
env ${MEMC_PRELOAD:+LD_PRELOAD=$MEMC_PRELOAD} memcached "${user[@]}" -t 4 -p "$port" -U 0 -l 127.0.0.1 -m 64 &
pid=$!
for _ in $(seq 200); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.02
done
"$load" "$port" "$threads" "$trips"
rc=$?
kill -TERM "$pid"
wait "$pid"
exit $rc
