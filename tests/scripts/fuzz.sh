#!/usr/bin/env bash
# Fuzzes the analyzer's readers and renderers for 20 s with libFuzzer + ASan +
# UBSan, from a seed corpus: the hand-written dump, a real report made now, and
# small valid and broken files. Any crash, leak or sanitizer report fails.
# Usage: tests/scripts/fuzz.sh BUILD_DIR
set -uo pipefail
B=${1:-build}
SECONDS_TO_RUN=${FUZZ_SECONDS:-20}
cd "$(dirname "$0")/../.."
pass=0 fail=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
ko() { echo "FAIL: $*"; fail=$((fail + 1)); }
out="$B/fuzz"
mkdir -p "$out"
work=$(mktemp -d /tmp/poolshim-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
srcs=(analyzer/load.c analyzer/jget.c analyzer/report.c analyzer/report_text.c analyzer/show.c
      analyzer/show_text.c analyzer/show_frames.c analyzer/symbolize.c analyzer/symbolize_dump.c analyzer/folded.c
      analyzer/graph.c analyzer/html.c analyzer/svg.c analyzer/text.c
      analyzer/pprof.c analyzer/pb.c analyzer/flame.c analyzer/timeline.c)
stale=1
if [ -x "$out/fuzz_readers" ]; then
  stale=0
  for f in tests/fuzz/fuzz_readers.c analyzer/*.c analyzer/*.h; do [ "$f" -nt "$out/fuzz_readers" ] && stale=1; done
fi
if [ $stale -eq 0 ]; then
  ok "fuzzer up to date"
elif printf '%s\n' tests/fuzz/fuzz_readers.c "${srcs[@]}" |
       xargs -P 2 -I{} sh -c 'clang -c $0 -o "$1/$(basename {} .c).o" {}' \
         "-g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Ianalyzer" \
         "$work" 2>"$work/cc.log" &&
     clang -fsanitize=fuzzer,address,undefined -o "$out/fuzz_readers" "$work"/*.o -ljansson -lm -ldw -lelf -lstdc++ -lz 2>>"$work/cc.log"; then
  ok "fuzzer builds"
else
  cat "$work/cc.log"; ko "fuzzer does not build"; echo "$pass passed, $fail failed"; exit 1
fi
# Inputs that once crashed a reader (tests/fuzz/regress/), run first and
# every time: a long lock site overflowed pprof.c's name buffer (found by
# CI's 20 s, not by our runs of 15 minutes).
if ls tests/fuzz/regress/*.json >/dev/null 2>&1; then
  if ASAN_OPTIONS=detect_leaks=1 "$out/fuzz_readers" tests/fuzz/regress/*.json > "$work/regress.log" 2>&1; then
    ok "known crashers: $(ls tests/fuzz/regress/*.json | wc -l) inputs pass"
  else
    grep -m1 -A8 -E '^==[0-9]+==ERROR|runtime error' "$work/regress.log"
    ko "a known crasher fails again"
  fi
fi
mkdir -p "$work/corpus"
cp tests/data/*.json "$work/corpus/"
# A real report of this build's shim.
if [ -x "$B/fixtures/condvar_pool" ] && [ -f "$B/libpoolshim.so" ]; then
  POOLSHIM_DIR="$work" POOLSHIM_SUMMARY=off POOLSHIM_TRACE=on LD_PRELOAD="$B/libpoolshim.so" \
    "$B/fixtures/condvar_pool" --threads 2 --tasks 30 --cpu-ms 1 --io-ms 1 >/dev/null
  cp "$work"/poolshim.*.json "$work/corpus/" 2>/dev/null
fi
printf '{"version":1,"kind":"report","pools":[]}' > "$work/corpus/min_report.json"
printf '{"version":1,"kind":"dump","threads":[{"tid":1,"blocked_on":{"owner":1}}],"wait_for":{"edges":[{"from":1,"to":2},{"from":2,"to":1}]}}' \
  > "$work/corpus/min_dump.json"
printf '{"version":1,"kind":"report","pools":[{"history":[{"t_s":0},{"t_s":1e308,"tasks":1}]}],"controller":{"decisions":[{"t_s":1}]}}' \
  > "$work/corpus/odd.json"
ncorpus=$(ls "$work/corpus" | wc -l)
echo "seed corpus: $ncorpus files; running $SECONDS_TO_RUN s"
( cd "$work" && ASAN_OPTIONS=detect_leaks=1 "$OLDPWD/$out/fuzz_readers" -max_total_time="$SECONDS_TO_RUN" \
    -dict="$OLDPWD/tests/fuzz/poolshim.dict" -max_len=65536 -timeout=5 -rss_limit_mb=1536 \
    -print_final_stats=1 corpus > fuzz.log 2>&1 )
rc=$?
grep -E "stat::number_of_executed_runs|DONE" "$work/fuzz.log" | head -3
if [ $rc -eq 0 ] && ! ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* >/dev/null 2>&1; then
  ok "no crash, leak or timeout in $SECONDS_TO_RUN s"
else
  # The sanitizer's verdict and first frames, then the tail (libFuzzer's stats).
  grep -m1 -A14 -E '^==[0-9]+==ERROR|runtime error' "$work/fuzz.log"
  grep -E '^SUMMARY:' "$work/fuzz.log" | head -2
  tail -12 "$work/fuzz.log"
  mkdir -p "$out/findings" && cp "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* "$out/findings/" 2>/dev/null
  ko "fuzzer found a problem (exit $rc; inputs in $out/findings)"
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
