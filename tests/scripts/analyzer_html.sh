#!/usr/bin/env bash
# The --html pages: self-contained (no external resource), rendered by
# headless Chromium into a screenshot that is not blank (many colours, a fair
# share of non-white pixels), and their rendered DOM (--dump-dom, after the
# page's script ran) checked by html_dom_check.py: charts only with data,
# flame graphs laid out, the timeline of a traced run, the lock table, the
# decisions table, labelled wait-for edges. Pages come from a real report made
# now (POOLSHIM_TRACE=on, control on), a recorded report with contended locks
# and the hand-written dump. Usage: tests/scripts/analyzer_html.sh BUILD_DIR
set -uo pipefail
B=${1:-build}
cd "$(dirname "$0")/../.."
B=$(cd "$B" && pwd)
pass=0 fail=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
ko() { echo "FAIL: $*"; fail=$((fail + 1)); }
work=$(mktemp -d /tmp/poolshim-html.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$B/poolshim" run --dir "$work" --summary off --trace on --control on --dump off -- "$B/fixtures/condvar_pool" \
    --threads 16 --tasks 400 --cpu-ms 2 --io-ms 1 --submit-us 2000 >/dev/null 2>"$work/run.err"
report=$(ls "$work"/poolshim.*.json 2>/dev/null | grep -v '\.trace\.json$' | head -1)
[ -n "$report" ] && ok "report made" || { cat "$work/run.err"; ko "no report"; }
"$B/poolshim" report --html "$work/report.html" "$report" 2>/dev/null && ok "report page written" || ko "report --html"
"$B/poolshim" show --html "$work/dump.html" tests/data/dump_deadlock.json 2>/dev/null && ok "dump page written" || ko "show --html"
"$B/poolshim" report --html "$work/locks.html" tests/data/real_controlled.report.json 2>/dev/null && ok "locks page written" || ko "report --html (locks)"
for page in report dump locks; do
  f="$work/$page.html"
  [ -s "$f" ] || { ko "$page.html missing"; continue; }
  # Self-contained: no src/href/@import/url() except the inline marker url(#arr).
  if grep -Eiq '(src|href)=|@import|url\((["'"'"']?)[^#]' "$f"; then ko "$page.html loads something external"; else ok "$page.html self-contained"; fi
  if ! command -v chromium >/dev/null; then ko "chromium not installed (scripts/deps.sh)"; continue; fi
  prof=$(mktemp -d "$work/prof.XXXXXX")
  timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
      --disable-component-update --disable-sync --no-first-run --user-data-dir="$prof" \
      --dump-dom "file://$f" >"$work/$page.dom" 2>/dev/null
  kind=$page; [ $page = report ] && kind=traced
  if python3 tests/scripts/html_dom_check.py "$work/$page.dom" $kind >"$work/$page.domcheck"; then
    ok "$page page's rendered DOM: $(grep -c '^ok' "$work/$page.domcheck") checks"
  else
    grep FAIL "$work/$page.domcheck"; ko "$page page's rendered DOM"
  fi
  timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
      --disable-component-update --disable-sync --no-first-run --user-data-dir="$prof" \
      --screenshot="$work/$page.png" --window-size=1200,900 "file://$f" >/dev/null 2>&1
  if [ ! -s "$work/$page.png" ]; then ko "$page: no screenshot"; continue; fi
  read -r w h colours nonwhite < <(python3 tests/scripts/analyzer_png_stats.py "$work/$page.png")
  echo "  $page.png: ${w}x${h}, $colours colours, non-white $nonwhite"
  if [ "$colours" -ge 12 ] && python3 -c "import sys; sys.exit(0 if float('$nonwhite') > 0.03 else 1)"; then
    ok "$page page renders (not blank)"
  else
    ko "$page page looks blank"
  fi
  [ -n "${KEEP_SCREENSHOTS:-}" ] && cp "$work/$page.png" "$work/$page.html" "$KEEP_SCREENSHOTS/"
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
