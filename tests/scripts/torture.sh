#!/usr/bin/env bash
# torture.sh: robustness of libpoolshim.so as a tested property (issue 6).
# Each case runs a program (tests/torture/ fixtures, or real programs) with
# and, where it makes sense, without the shim, under a timeout, and checks
# real behaviour: exit status, stdout identical byte for byte, stderr
# identical once the shim's own "poolshim[pid]:" lines are removed, the
# report present (or rightly absent) and sane. The whole suite runs twice:
# with the default control mode and with POOLSHIM_CONTROL=on.
# Usage: tests/scripts/torture.sh BUILD_DIR [case-name-regex]
set -uo pipefail
B=$(cd "${1:-build}" && pwd)
ONLY=${2:-.}
SHIM=$B/libpoolshim.so
T=$B/torture
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/poolshim-torture.XXXXXX)
MOUNTS=()
cleanup() {
  for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null; done
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
pass=0 fail=0 skip=0
ok()   { echo "  ok   $CASE${1:+: $1}"; pass=$((pass + 1)); }
bad()  { echo "  FAIL $CASE: $1"; fail=$((fail + 1)); }
skipc(){ echo "  skip $CASE: $1"; skip=$((skip + 1)); }

# A report is sane if it is complete JSON of the right kind and every thread's
# CPU, its waits and its run-queue delay each fit in its lifetime (a recycled,
# torn or double-counted record would not). Run-queue delay is checked apart:
# a wrapped wait's span includes the delay between wake-up and running again.
SANE='.version == 1 and .kind == "report" and (.pid|type) == "number"
  and (.threads|type) == "array" and (.pools|type) == "array"
  and all(.threads[]; (.cpu_s >= 0) and (.wait_s >= 0) and (.lifetime_s >= 0)
          and .cpu_s <= .lifetime_s * 1.1 + 0.05
          and .wait_s - .wait_by_cause.runqueue <= .lifetime_s * 1.1 + 0.05
          and .wait_by_cause.runqueue <= .lifetime_s * 1.1 + 0.05)
  and all(.pools[]; .threads >= 0 and .cpu_s >= 0 and .wait_s >= 0)'
sane() { jq -e "$SANE" "$1" >/dev/null 2>&1; }
# what is wrong with a report, for the failure message
insane() {
  jq -c '[.threads[] | select((.cpu_s >= 0 and .wait_s >= 0 and .lifetime_s >= 0
      and .cpu_s <= .lifetime_s * 1.1 + 0.05 and .wait_s - .wait_by_cause.runqueue <= .lifetime_s * 1.1 + 0.05
      and .wait_by_cause.runqueue <= .lifetime_s * 1.1 + 0.05) | not)][0]
      | if . then {start_routine, state, cpu_s, lifetime_s, wait_by_cause} else "threads ok" end' "$1" 2>&1 | head -c 400
}
# routine count: number of threads[] whose start_routine is $2
nthreads() { jq "[.threads[] | select(.start_routine == \"$2\")] | length" "$1"; }
poolthreads() { jq "[.pools[] | select(.start_routine == \"$2\") | .threads] | add // 0" "$1"; }
noshim() { grep -v '^poolshim\[' "$1"; }

# run TAG TIMEOUT [ENV=V ...] -- CMD...: without shim when TAG is 0, with it
# when TAG is 1. Files in $D: out$TAG err$TAG st$TAG; reports in $D/rep.
run() {
  local tag=$1 to=$2; shift 2
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  mkdir -p "$D/rep"
  if [ "$tag" = 1 ]; then
    # the shim goes into CMD only, not into timeout (nor into env)
    (cd "$D" && timeout -k 5 "$to" env POOLSHIM_DIR="$D/rep" ${CTRL:+POOLSHIM_CONTROL=$CTRL} "${envs[@]}" \
       bash -c 'LD_PRELOAD="$0" exec "$@"' "$SHIM" "$@" >"$D/out1" 2>"$D/err1" </dev/null)
  else
    # the run without the shim does not depend on the control mode: made once
    local key; key=$(printf '%s\n' "$CASE_ID" "${envs[@]}" "$@" | md5sum | cut -c1-16)
    if [ -d "$WORK/base/$key" ]; then
      cp "$WORK/base/$key"/{out0,err0,st0} "$D/"
      return
    fi
    (cd "$D" && env "${envs[@]}" timeout -k 5 "$to" "$@" >"$D/out0" 2>"$D/err0" </dev/null)
    echo $? >"$D/st0"
    mkdir -p "$WORK/base/$key" && cp "$D"/{out0,err0,st0} "$WORK/base/$key/"
    return
  fi
  echo $? >"$D/st$tag"
}
st() { cat "$D/st$1"; }
# compare: both runs ended the same way, same stdout, same stderr minus ours
same_run() {
  local s0 s1; s0=$(st 0); s1=$(st 1)
  [ "$s1" = 124 ] || [ "$s1" = 137 ] && { bad "timed out or killed under the shim (status $s1)"; return 1; }
  [ "$s0" = "$s1" ] || { bad "exit status $s1 under the shim, $s0 without"; return 1; }
  cmp -s "$D/out0" "$D/out1" || { bad "stdout differs: $(diff "$D/out0" "$D/out1" | head -3 | tr '\n' ' ')"; return 1; }
  cmp -s <(noshim "$D/err0") <(noshim "$D/err1") || { bad "stderr differs: $(diff <(noshim "$D/err0") <(noshim "$D/err1") | head -3 | tr '\n' ' ')"; return 1; }
  return 0
}
# every report in $D/rep is sane; at least $1 of them
reports_sane() {
  local n=0 f
  for f in $(reports); do
    n=$((n + 1))
    sane "$f" || { bad "report $(basename "$f") ($(jq -r .exe "$f" 2>/dev/null)) is not sane: $(insane "$f")"; return 1; }
  done
  # dumps the shim chose to take must be complete documents too
  for f in "$D"/rep/poolshim.*.dump.*.json; do
    [ -e "$f" ] || continue
    jq -e '.version == 1 and .kind == "dump"' "$f" >/dev/null 2>&1 || { bad "dump $(basename "$f") is not a complete dump"; return 1; }
  done
  [ "$n" -ge "${1:-1}" ] || { bad "$n reports, expected at least ${1:-1}"; return 1; }
  return 0
}
main_report() { echo "$D/rep/poolshim.$1.json"; }
# report files of the case (poolshim.<pid>.json; dumps are poolshim.<pid>.dump.<n>.json)
reports() { ls "$D"/rep/poolshim.*.json 2>/dev/null | grep -E '/poolshim\.[0-9]+\.json$'; }
first_report() { reports | head -1; }

begin() { CASE_ID=$1; CASE="$1${CTRL:+ [control=$CTRL]}"; D=$WORK/$1.${CTRL:-default}; mkdir -p "$D"; [[ $1 =~ $ONLY ]]; }

# ---------------------------------------------------------------- process life
case_fork() {
  begin fork || return
  run 0 30 -- "$T/forky" fork; run 1 30 -- "$T/forky" fork
  [ "$(st 1)" = 0 ] && [ "$(st 0)" = 0 ] || { bad "status $(st 1) (without shim $(st 0)): $(head -c 300 "$D/err1")"; return; }
  local child; child=$(awk '/^child /{print $2}' "$D/out1")
  local c="$D/rep/poolshim.$child.json" p; p=$(reports | grep -v "\.$child\.json")
  [ -f "$c" ] || { bad "no report for the child $child"; return; }
  reports_sane 2 || return
  [ "$(nthreads "$c" child_worker)" = 3 ] && [ "$(nthreads "$c" parent_worker)" = 0 ] ||
    { bad "child report: $(nthreads "$c" child_worker) child_worker (want 3), $(nthreads "$c" parent_worker) parent_worker (want 0)"; return; }
  [ "$(nthreads "$p" parent_worker)" = 2 ] && [ "$(nthreads "$p" child_worker)" = 0 ] ||
    { bad "parent report: $(nthreads "$p" parent_worker) parent_worker (want 2)"; return; }
  ok "child $child reported its own 3 threads, parent its 2"
}

case_fork_locked() {
  begin fork-locked || return
  run 1 90 -- "$T/forky" fork-locked
  [ "$(st 1)" = 0 ] || { bad "status $(st 1): $(noshim "$D/err1" | head -3 | tr '\n' ' ')"; return; }
  reports_sane 41 || return
  ok "40 forks from a thread while 4 threads hammer malloc/stdio/mutex/pipes: no child hung, 41 sane reports"
}

case_exec() {
  begin exec || return
  run 1 30 -- "$T/forky" exec
  local pid; pid=$(awk '/^exec /{print $2}' "$D/out1"); local r; r=$(main_report "$pid")
  [ "$(st 1)" = 0 ] && grep -q "^after exec $pid\$" "$D/out1" || { bad "status $(st 1), out: $(cat "$D/out1")"; return; }
  [ -f "$r" ] && sane "$r" || { bad "no sane report for $pid"; return; }
  [ "$(jq -r .why "$r")" = exit ] && [ "$(nthreads "$r" post_exec_worker)" = 2 ] && [ "$(nthreads "$r" pre_exec_worker)" = 0 ] ||
    { bad "new image's report: why=$(jq -r .why "$r"), post_exec_worker $(nthreads "$r" post_exec_worker), pre_exec_worker $(nthreads "$r" pre_exec_worker)"; return; }
  ok "new image started clean (2 post_exec_worker, no pre_exec_worker)"

  begin exec-noshim || return
  run 1 30 -- "$T/forky" exec-noshim
  pid=$(awk '/^exec /{print $2}' "$D/out1"); r=$(main_report "$pid")
  [ "$(st 1)" = 0 ] && [ -f "$r" ] && sane "$r" || { bad "status $(st 1), report $r missing or not sane: $(insane "$r")"; return; }
  local np; np=$(nthreads "$r" pre_exec_worker)   # the third may not have started by the exec
  [ "$(jq -r .why "$r")" = exec ] && [ "$np" -ge 2 ] && [ "$np" -le 3 ] ||
    { bad "pre-exec report: why=$(jq -r .why "$r"), pre_exec_worker $np (want 2 or 3)"; return; }
  ok "pre-exec report written (why=exec, 3 pre_exec_worker)"

  begin exec-fail || return
  run 0 30 -- "$T/forky" exec-fail; run 1 30 -- "$T/forky" exec-fail
  same_run || return
  r=$(first_report)
  [ -n "$r" ] && sane "$r" && [ "$(jq -r .why "$r")" = exit ] && [ "$(nthreads "$r" late_worker)" = 2 ] ||
    { bad "after a failed exec the report should be why=exit with 2 late_worker: $(jq -c '[.why, [.threads[].start_routine]]' "$r" 2>&1)"; return; }
  ok "failed exec: same errno and output, measuring resumed"
}

case_spawn() {
  begin spawn || return
  run 0 60 -- "$T/forky" spawn; run 1 60 -- "$T/forky" spawn
  [ "$(st 1)" = 0 ] || { bad "status $(st 1): $(noshim "$D/err1" | head -3)"; return; }
  [ "$(grep -c '^spawned child' "$D/out1")" = 3 ] || { bad "$(grep -c '^spawned child' "$D/out1") of 3 children ran"; return; }
  local pid r
  for pid in $(awk '/^spawned child/{print $3}' "$D/out1"); do
    r=$(main_report "$pid")
    [ -f "$r" ] && sane "$r" && [ "$(nthreads "$r" spawned_worker)" = 2 ] || { bad "child $pid: no sane report with 2 spawned_worker"; return; }
  done
  reports_sane 4 || return
  ok "posix_spawn, vfork+exec, system(): each child measured itself"
}

# ---------------------------------------------------------------- threads
case_churn() {
  begin churn || return
  local n=10500
  run 0 120 -- "$T/churn" churn $n 8; run 1 120 -- "$T/churn" churn $n 8
  same_run || return
  local r; r=$(first_report)
  sane "$r" || { bad "report not sane: $(insane "$r")"; return; }
  local pt; pt=$(poolthreads "$r" churn_worker)
  [ "$pt" = $n ] || { bad "pool churn_worker counts $pt threads, $n ran"; return; }
  local nt; nt=$(jq '.threads | length' "$r")
  [ "$nt" -le 8200 ] || { bad "$nt thread records in the report (table is 8192)"; return; }
  ok "$n threads through 8192 records: pool counts $pt, report sane"
}

case_live() {
  begin live || return
  local n=2000
  run 0 120 -- "$T/churn" live $n; run 1 120 -- "$T/churn" live $n
  same_run || return
  local r; r=$(first_report)
  sane "$r" || { bad "report not sane: $(insane "$r")"; return; }
  local pt; pt=$(poolthreads "$r" live_worker); local nt; nt=$(nthreads "$r" live_worker)
  [ "$pt" = $n ] && [ "$nt" = $n ] || { bad "pool live_worker $pt threads, $nt records; $n ran"; return; }
  ok "$n live threads all measured"
}

case_cancel() {
  begin cancel || return
  run 0 120 -- "$T/cancel"; run 1 120 -- "$T/cancel"
  same_run || return
  local r; r=$(first_report)
  sane "$r" || { bad "report not sane: $(insane "$r")"; return; }
  # every cancelled thread: its 50 ms blocked wait and its cleanup's 30 ms sleep were counted
  local badt
  # (for the sleeps both are sleep: >= 75 ms of it)
  badt=$(jq -r '.threads[] | select(.start_routine // "" | startswith("cx_"))
      | select(.state != "exited" or
               if (.start_routine | test("sleep$")) then .wait_by_cause.sleep < 0.075
               else .wait_by_cause.sleep < 0.025 or (.wait_s - .wait_by_cause.sleep - .wait_by_cause.runqueue) < 0.04 end)
      | "\(.start_routine)(sleep \(.wait_by_cause.sleep), wait \(.wait_s))"' "$r")
  local n; n=$(jq '[.threads[] | select(.start_routine // "" | startswith("cx_"))] | length' "$r")
  [ -z "$badt" ] && [ "$n" -ge 27 ] || { bad "$n cx_ threads; not measured after cancellation: $badt"; return; }
  ok "$n cancellation points: joins returned, waits closed, threads measured after the unwind"
}

case_eintr() {
  local m
  for m in restart norestart; do
    begin "eintr-$m" || continue
    run 0 120 -- "$T/eintr" $m; run 1 120 -- "$T/eintr" $m
    same_run || continue
    reports_sane 1 || continue
    ok "14 calls interrupted ($m): same results and errno"
  done
}

case_longjmp() {
  begin longjmp || return
  run 0 30 -- "$T/longjmp"; run 1 30 -- "$T/longjmp"
  same_run || return
  reports_sane 1 || return
  local r sl io cpu; r=$(first_report)
  read -r sl io cpu < <(jq -r '.threads[] | select(.name == "jumper")
    | "\(.wait_by_cause.sleep) \(.wait_by_cause.io) \(.cpu_s)"' "$r")
  awk -v s="${sl:-0}" -v i="${io:-9}" -v c="${cpu:-0}" 'BEGIN { exit !(s >= 0.25 && s <= 0.6 && i < 0.1 && c >= 0.15) }' ||
    { bad "jumper: sleep ${sl:-?} s, io ${io:-?} s, cpu ${cpu:-?} s (want sleep ~0.3, io < 0.1, cpu ~0.2)"; return; }
  ok "siglongjmp out of read(): the later sleep measured ($sl s), the spin not read as I/O ($io s)"
}

case_dlopen() {
  begin dlopen || return
  run 0 60 -- "$T/dlopen" "$T/libdlthreads.so"; run 1 60 -- "$T/dlopen" "$T/libdlthreads.so"
  same_run || return
  reports_sane 1 || return
  local r; r=$(first_report)
  local n; n=$(jq '[.pools[] | .threads] | add // 0' "$r")
  [ "$n" -ge 60 ] || { bad "only $n threads in pools; the 15 plain dlopen runs started 60"; return; }
  ok "20 dlopen/dlclose cycles (5 RTLD_DEEPBIND): same output, $n threads measured"
}

case_errno() {
  begin errno || return
  run 0 60 -- "$T/errno_check"; run 1 60 -- "$T/errno_check"
  same_run || return
  ok "errno after $(wc -l <"$D/out0") calls identical"
}

# ---------------------------------------------------------------- odd processes
case_setuid() {
  begin setuid || return
  if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then skipc "needs root and setpriv"; return; fi
  local dir=$WORK/suid; mkdir -p "$dir/rep"; chmod 755 "$WORK" "$dir"; chmod 1777 "$dir/rep"
  cp "$T/plain" "$dir/plain"; chown root:root "$dir/plain"; chmod 4755 "$dir/plain"
  local as=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  (cd "$dir" && "${as[@]}" timeout 30 "$dir/plain" >"$D/out0" 2>"$D/err0"); echo $? >"$D/st0"
  (cd "$dir" && POOLSHIM_DIR="$dir/rep" "${as[@]}" timeout 30 bash -c 'LD_PRELOAD="$0" exec "$1"' "$SHIM" "$dir/plain" \
     >"$D/out1" 2>"$D/err1"); echo $? >"$D/st1"
  [ "$(st 0)" = 7 ] && [ "$(st 1)" = 7 ] && cmp -s "$D/out0" "$D/out1" || { bad "status $(st 1)/$(st 0), out $(cat "$D/out1")"; return; }
  ls "$dir"/rep/poolshim.* >/dev/null 2>&1 && { bad "a report appeared: the loader should have dropped the preload"; return; }
  ok "setuid binary run by nobody: preload dropped by the loader, program unaffected"
}

case_static() {
  begin static || return
  run 0 30 -- "$T/plain_static"; run 1 30 -- "$T/plain_static"
  same_run || return
  ls "$D"/rep/poolshim.* >/dev/null 2>&1 && { bad "a report from a static binary?"; return; }
  ok "static binary: no effect, no report"
}

case_fds() {
  begin fd-closeall || return
  run 1 30 -- "$T/fdplay" closeall "$D/file"
  [ "$(st 1)" = 0 ] && [ "$(cat "$D/file")" = data ] && [ "$(wc -c <"$D/file")" = 5 ] ||
    { bad "status $(st 1), file holds: $(head -c 200 "$D/file")"; return; }
  reports_sane 1 || return
  ok "fd 2 reused for a data file: the shim wrote nothing into it, report written"

  begin fd-dup2 || return
  run 1 30 -- "$T/fdplay" dup2 "$D/file"
  [ "$(st 1)" = 0 ] && [ "$(cat "$D/file")" = "app log line" ] ||
    { bad "status $(st 1), log holds: $(head -c 200 "$D/file")"; return; }
  reports_sane 1 || return
  ok "stderr replaced with dup2: only the program's line in it, report written"
}

mount_tmpfs() {   # mount_tmpfs DIR OPTIONS; 0 if mounted
  mkdir -p "$1"
  mount -t tmpfs -o "$2" poolshim-torture "$1" 2>/dev/null || return 1
  MOUNTS+=("$1")
}

case_dirs() {
  begin dir-readonly || return
  if ! mount_tmpfs "$WORK/ro" ro,size=64k; then skipc "cannot mount a tmpfs here (not root, or no CAP_SYS_ADMIN)"; else
    run 0 30 -- "$T/plain"; run 1 30 POOLSHIM_DIR="$WORK/ro" -- "$T/plain"
    if same_run; then
      local lines; lines=$(grep -c 'POOLSHIM_DIR' "$D/err1")
      if [ "$lines" != 1 ]; then bad "$lines lines name POOLSHIM_DIR (want 1)"
      elif ! ls "$D"/poolshim.*.json >/dev/null 2>&1; then bad "no report in the start directory (the default)"
      else ok "read-only POOLSHIM_DIR: one warning, report in the start directory"; fi
    fi
  fi

  begin dir-full || return
  if ! mount_tmpfs "$WORK/full" size=8k; then skipc "cannot mount a tmpfs here (not root, or no CAP_SYS_ADMIN)"; return; fi
  dd if=/dev/zero of="$WORK/full/fill" bs=1k count=64 2>/dev/null
  run 0 30 -- "$T/plain"; run 1 30 POOLSHIM_DIR="$WORK/full" -- "$T/plain"
  same_run || return
  grep -q 'cannot write' "$D/err1" || { bad "no warning about the report: $(noshim "$D/err1"; cat "$D/err1" | head -2)"; return; }
  ls -A "$WORK/full" | grep -qv '^fill$' && { bad "left behind in the full directory: $(ls -A "$WORK/full")"; return; }
  ok "full POOLSHIM_DIR: one warning, nothing left behind"
}

case_killed() {
  begin killed-mid-write || return
  command -v strace >/dev/null || { skipc "strace not installed"; return; }
  # SIGKILL exactly at the report's fsync: data written to the temporary file, not renamed
  mkdir -p "$D/rep"
  (cd "$D" && POOLSHIM_DIR="$D/rep" timeout 30 strace -E LD_PRELOAD="$SHIM" -o /dev/null -e trace=fsync \
      -e inject=fsync:signal=SIGKILL "$T/plain" >"$D/out1" 2>"$D/err1") 2>/dev/null; echo $? >"$D/st1"
  [ "$(st 1)" = 137 ] || { bad "expected death by SIGKILL (137), got $(st 1)"; return; }
  ls "$D"/rep/poolshim.*.json >/dev/null 2>&1 && { bad "a final report exists after a kill mid-write: $(ls "$D/rep")"; return; }
  ls -A "$D/rep" | grep -q '\.tmp$' || { bad "the kill did not land in the write (no temporary file): $(ls -A "$D/rep")"; return; }
  ok "killed mid-write: no file under the final name (only $(ls -A "$D/rep" | head -1))"
}

case_config() {
  # one bad value per variable of shim/base/config.c's table; a missing entry here fails
  declare -A badv=(
    [POOLSHIM_DIR]=/nonexistent/dir [POOLSHIM_CONTROL]=maybe [POOLSHIM_DUMP]=sometimes
    [POOLSHIM_INTERVAL_MS]=5 [POOLSHIM_SUMMARY]=yes [POOLSHIM_REPORT]=2 [POOLSHIM_DUMP_SIGNAL]=99
    [POOLSHIM_DUMP_MAX]=-1 [POOLSHIM_DUMP_INTERVAL_S]=abc [POOLSHIM_DUMP_BLOCKED_MS]=1
    [POOLSHIM_MIN]=0 [POOLSHIM_MAX]=1e3 [POOLSHIM_COOLDOWN_MS]=10ms
    [POOLSHIM_EXPAND]=$(printf 'x%.0s' {1..200}) [POOLSHIM_POOL]=$(printf 'y%.0s' {1..200})
    [POOLSHIM_ALLOC_SAMPLE]=41 [POOLSHIM_MALLOC]=tcmalloc [POOLSHIM_TYPO]=1
    [POOLSHIM_METRICS]=$(printf 'm%.0s' {1..600}) [POOLSHIM_TRACE]=yes [POOLSHIM_TRACE_EVENTS]=512
    [POOLSHIM_DUMP_CAPTURE]=gdb [POOLSHIM_HISTORY]=1
  )
  local vars; vars=$(grep -o '{ "POOLSHIM_[A-Z_]*"' "$SRC/shim/base/config.c" | tr -d '{" ')
  begin config || return
  run 0 30 -- "$T/plain"
  local v failed=0 n=0
  for v in $vars POOLSHIM_TYPO; do
    n=$((n + 1))
    [ -n "${badv[$v]:-}" ] || { bad "no bad value known for $v: add one to case_config"; failed=1; continue; }
    rm -rf "$D/rep" "$D"/poolshim.*.json
    run 1 30 "$v=${badv[$v]}" -- "$T/plain"
    same_run || { failed=1; continue; }
    local lines; lines=$(grep -c "$v" "$D/err1")
    [ "$lines" = 1 ] && grep "$v" "$D/err1" | grep -q '^poolshim\[' || { bad "$v=${badv[$v]:0:20}: $lines lines name it (want 1)"; failed=1; continue; }
    local nrep; nrep=$(ls "$D"/rep/poolshim.*.json "$D"/poolshim.*.json 2>/dev/null | grep -cE '/poolshim\.[0-9]+\.json$')
    [ "$nrep" = 1 ] || { bad "$v: $nrep reports with the default (want 1)"; failed=1; continue; }
    # where the report shows the setting, it must show the default
    local rf; rf=$(ls "$D"/rep/poolshim.*.json "$D"/poolshim.*.json 2>/dev/null | grep -E '/poolshim\.[0-9]+\.json$')
    case $v in
      POOLSHIM_DIR) [ "$(dirname "$rf")" = "$D" ] || { bad "$v: report in $(dirname "$rf"), not the start directory"; failed=1; } ;;
      POOLSHIM_CONTROL) [ "$(jq -r .control "$rf")" = advise ] || { bad "$v: control $(jq -r .control "$rf"), not advise"; failed=1; } ;;
      POOLSHIM_INTERVAL_MS) [ "$(jq -r .interval_ms "$rf")" = 100 ] || { bad "$v: interval $(jq -r .interval_ms "$rf"), not 100"; failed=1; } ;;
      POOLSHIM_TRACE) [ "$(jq -r .trace "$rf")" = null ] || { bad "$v: trace $(jq -r .trace "$rf"), not off"; failed=1; } ;;
    esac
  done
  [ $failed = 0 ] && ok "$n variables with a bad value: one line each, defaults used, program unchanged"
}

# POOLSHIM_METRICS through fork, exec and a pipeline of two processes: the
# programs behave as without the shim, each process wrote its own file (%p)
# and removed it at exit or exec: nothing is left, not even a temporary.
case_metrics() {
  local m
  for m in fork exec pipeline; do
    begin metrics-$m || return
    mkdir -p "$D/prom"
    local env="POOLSHIM_METRICS=$D/prom/m-%p.prom"
    if [ $m = pipeline ]; then
      "$PY" -c 'import random; r=random.Random(7); print("\n".join(str(r.random()) for _ in range(200000)))' >"$D/in"
      run 0 60 "$env" -- bash -c "pigz -p 2 -c <'$D/in' | pigz -d -c | cmp - '$D/in' && echo same"
      run 1 60 "$env" -- bash -c "pigz -p 2 -c <'$D/in' | pigz -d -c | cmp - '$D/in' && echo same"
    else
      run 0 30 "$env" -- "$T/forky" $m; run 1 30 "$env" -- "$T/forky" $m
    fi
    if [ $m != pipeline ]; then   # pids are printed, so outputs differ: compare the shape
      [ "$(st 1)" = 0 ] && grep -qE '^(after exec|child) ' "$D/out1" || { bad "status $(st 1), out: $(head -c 200 "$D/out1")"; continue; }
    else
      same_run || continue
    fi
    reports_sane 1 || continue
    local left; left=$(ls -A "$D/prom")
    [ -z "$left" ] || { bad "left behind: $(echo $left | head -c 200)"; continue; }
    ok "same behaviour, $(reports | wc -l) reports, every metrics file removed"
  done
}

# POOLSHIM_TRACE=on through fork, thread churn past the record table (rings
# reused) and cancellation: the program behaves as without the shim, every
# process writes a complete trace file, and `poolshim export trace` reads it.
case_trace() {
  local m
  for m in fork churn cancel; do
    begin trace-$m || return
    local args=("$T/forky" fork)
    [ $m = churn ] && args=("$T/churn" churn 10500 8)
    [ $m = cancel ] && args=("$T/cancel")
    run 0 120 POOLSHIM_TRACE=on -- "${args[@]}"; run 1 120 POOLSHIM_TRACE=on -- "${args[@]}"
    if [ $m = fork ]; then   # pids are printed: compare the shape
      [ "$(st 1)" = 0 ] && grep -q '^child ' "$D/out1" || { bad "status $(st 1), out: $(head -c 200 "$D/out1")"; continue; }
    else
      same_run || continue
    fi
    reports_sane 1 || continue
    local r n=0 badf=""
    for r in $(reports); do
      local tr="${r%.json}.trace.json"
      n=$((n + 1))
      jq -e '.version == 1 and .kind == "trace" and (.threads | type) == "array"' "$tr" >/dev/null 2>&1 &&
        "$B/poolshim" export trace "$r" -o "$D/x.json" 2>/dev/null && jq -e '.traceEvents | length > 0' "$D/x.json" >/dev/null 2>&1 ||
        badf="$badf $(basename "$tr")"
    done
    [ -z "$badf" ] || { bad "trace file missing, incomplete or not exported:$badf"; continue; }
    ok "same behaviour, $n processes each with a complete trace that exports"
  done
}

# ---------------------------------------------------------------- expansion (issue 12)
# POOLSHIM_EXPAND naming a pool's worker, with POOLSHIM_CONTROL=on: the program
# must run exactly as without the shim whatever is named. A worker that cannot
# be started again safely is refused on one stderr line and none is added; a
# name that matches nothing gets one warning. The name is what the report calls
# the routine: `learn` reads it from a first run (stripped libraries show
# module+offset, and that is what a user would copy).
learn_routine() {   # learn ENV... -- CMD: the start_routine of the largest pool
  run 1 120 "$@"
  local r; r=$(first_report)
  [ -n "$r" ] && jq -r '[.pools[] | select(.threads > 0)] | max_by(.threads) | .start_routine' "$r" 2>/dev/null
  rm -rf "$D/rep"
}
# expand_case NAME ROUTINE|learn WANT ENV... -- CMD: WANT is what the one
# POOLSHIM_EXPAND line must say (a grep -E pattern), or "grown" (no such line,
# threads added)
expand_case() {
  local name=$1 routine=$2 want=$3; shift 3
  begin "$name" || return
  [ "${CTRL:-}" = on ] || return       # control on is forced: run once
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  run 0 120 "${envs[@]}" -- "$@"
  [ "$routine" = learn ] && routine=$(learn_routine "${envs[@]}" -- "$@")
  [ -n "$routine" ] && [ "$routine" != null ] || { bad "no pool found to name"; return; }
  run 1 120 POOLSHIM_CONTROL=on POOLSHIM_EXPAND="$routine" "${envs[@]}" -- "$@"
  same_run || return
  reports_sane 1 || return
  local r lines added; r=$(first_report)
  lines=$(grep -c "POOLSHIM_EXPAND=" "$D/err1")
  added=$(jq "[.controller.pools[] | select(.start_routine == \"$routine\") | .threads_added] | add // 0" "$r")
  if [ "$want" = grown ]; then
    [ "$lines" = 0 ] && [ "$added" -gt 0 ] || { bad "want $routine grown: $added threads added, $lines POOLSHIM_EXPAND lines: $(grep POOLSHIM_EXPAND "$D/err1" | head -1)"; return; }
    ok "$routine grown by $added threads, output unchanged"
  else
    [ "$lines" = 1 ] && grep "POOLSHIM_EXPAND=" "$D/err1" | grep -qE "$want" && [ "$added" = 0 ] ||
      { bad "$lines POOLSHIM_EXPAND lines (want 1 saying '$want'), $added threads added: $(grep POOLSHIM_EXPAND "$D/err1" | head -2 | tr '\n' ' ')"; return; }
    ok "POOLSHIM_EXPAND=$routine: output unchanged, none added; $(grep -o 'not grown: .*\|no thread ran.*' "$D/err1" | cut -c1-90)"
  fi
}

case_expand() {
  expand_case expand-stack-arg arg_worker "start argument" -- "$T/expand_arg" stack
  expand_case expand-heap-arg arg_worker "start argument" -- "$T/expand_arg" heap
  expand_case expand-global-arg arg_worker grown -- "$T/expand_arg" global
  expand_case expand-libuv learn "part of libuv" UV_THREADPOOL_SIZE=2 -- "$T/expand_uv"
  if command -v node >/dev/null; then
    expand_case expand-node worker "part of libuv" UV_THREADPOOL_SIZE=1 -- node "$SRC/tests/torture/expand_node.js"
  else
    begin expand-node && [ "${CTRL:-}" = on ] && skipc "node is not installed"
  fi
  expand_case expand-glib learn "trampoline" -- "$T/expand_glib"
  expand_case expand-openmp learn "part of libgomp|trampoline" OMP_NUM_THREADS=2 -- "$T/expand_omp"
  expand_case expand-no-match no_such_routine "no thread ran a start routine of that name" -- "$T/plain"
}

# ---------------------------------------------------------------- real programs
case_python() {
  begin python3 || return
  [ -x "$PY" ] || { skipc "no $PY"; return; }
  run 0 120 -- "$PY" "$SRC/tests/torture/pyload.py"; run 1 120 -- "$PY" "$SRC/tests/torture/pyload.py"
  same_run || return
  reports_sane 2 || return
  ok "threads, subprocess, asyncio: identical output, $(reports | wc -l) sane reports"
}

case_pigz() {
  begin pigz || return
  command -v pigz >/dev/null || { skipc "pigz not installed"; return; }
  "$PY" -c 'import random; r=random.Random(6); print("\n".join(" ".join(r.choice(["pool","thread","wait","lock","cpu","io"]) for _ in range(12)) for _ in range(60000)))' >"$D/in"
  run 0 120 -- bash -c "pigz -p 2 -c <'$D/in' | tee '$D/gz0' | pigz -d -c | cmp - '$D/in' && echo roundtrip"
  run 1 120 -- bash -c "pigz -p 2 -c <'$D/in' | tee '$D/gz1' | pigz -d -c | cmp - '$D/in' && echo roundtrip"
  same_run || return
  cmp -s "$D/gz0" "$D/gz1" || { bad "compressed bytes differ under the shim"; return; }
  reports_sane 3 || return
  ok "$(wc -c <"$D/in") bytes: identical compressed stream, round trip exact"
}

case_sysbench() {
  begin sysbench || return
  command -v sysbench >/dev/null || { skipc "sysbench not installed"; return; }
  local t
  for t in "threads --threads=4 --events=2000 --time=0" "mutex --threads=4 --mutex-num=64 --mutex-locks=20000"; do
    run 0 120 -- sysbench $t run; run 1 120 -- sysbench $t run
    [ "$(st 0)" = 0 ] && [ "$(st 1)" = 0 ] || { bad "sysbench $t: status $(st 1) (without $(st 0))"; return; }
    local e0 e1; e0=$(grep 'total number of events' "$D/out0"); e1=$(grep 'total number of events' "$D/out1")
    [ -n "$e1" ] && [ "$e0" = "$e1" ] || { bad "sysbench ${t%% *}: '$e1' vs '$e0'"; return; }
  done
  reports_sane 2 || return
  ok "threads and mutex tests complete with the same event counts"
}

case_sort() {
  begin sort || return
  "$PY" -c 'import random; r=random.Random(7); print("\n".join("%08d %s" % (r.randrange(10**8), r.choice("abcdef")*r.randrange(1,20)) for _ in range(200000)))' >"$D/in"
  run 0 120 -- sort --parallel=2 -S 2M "$D/in"; run 1 120 -- sort --parallel=2 -S 2M "$D/in"
  same_run || return
  reports_sane 1 || return
  ok "sort --parallel=2 of 200000 lines: identical"
}

case_make() {
  begin make-j2 || return
  mkdir -p "$D/mk"
  {
    echo 'all: $(patsubst %,out/%.txt,1 2 3 4 5 6 7 8)'
    echo '	@cat $^ | sort | md5sum'
    echo 'out/%.txt: | out'
    echo '	@seq $* 3 200 | tr 0-9 a-j > $@'
    echo 'out:'
    echo '	@mkdir -p out'
  } >"$D/mk/Makefile"
  run 0 60 -- make -s -j2 -C "$D/mk"; rm -rf "$D/mk/out"; run 1 60 -- make -s -j2 -C "$D/mk"
  same_run || return
  # make reports; its recipes (sh, seq, tr) never start a thread and their
  # parent is measured, so they write none (init.c)
  reports_sane 1 || return
  ok "make -j2: same result, $(reports | wc -l) processes reported"
}

CASES=(case_fork case_fork_locked case_exec case_spawn case_churn case_live case_cancel case_eintr case_longjmp
       case_dlopen case_errno case_setuid case_static case_fds case_dirs case_killed case_config case_metrics case_trace
       case_expand case_python case_pigz case_sysbench case_sort case_make)
[ -f "$SHIM" ] && [ -x "$T/plain" ] || { echo "torture: build first (make all)"; echo "0 passed, 1 failed"; exit 1; }
start=$SECONDS
for CTRL in "" on; do
  echo "== torture (POOLSHIM_CONTROL=${CTRL:-default})"
  for c in "${CASES[@]}"; do $c; done
done
echo "torture: $((SECONDS - start)) s, $skip skipped"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
