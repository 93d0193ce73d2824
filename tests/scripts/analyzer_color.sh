#!/usr/bin/env bash
# Colour only on a terminal and only without NO_COLOR: run `poolshim show` on a
# pseudo-terminal (script(1)) with and without NO_COLOR, and through a pipe.
# Usage: tests/scripts/analyzer_color.sh BUILD_DIR
set -uo pipefail
B=${1:-build}
cd "$(dirname "$0")/../.."
pass=0 fail=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
ko() { echo "FAIL: $*"; fail=$((fail + 1)); }
cmd="$B/poolshim show tests/data/dump_deadlock.json"
esc=$'\033['
if ! command -v script >/dev/null; then ko "script(1) missing"; echo "$pass passed, $fail failed"; exit 1; fi
tty_out=$(env -u NO_COLOR script -qec "$cmd" /dev/null)
[[ "$tty_out" == *"$esc"* ]] && ok "colour on a terminal" || ko "no colour on a terminal"
[[ "$tty_out" == *DEADLOCK* ]] && ok "terminal output complete" || ko "terminal output lacks the deadlock"
nc_out=$(NO_COLOR=1 script -qec "$cmd" /dev/null)
[[ "$nc_out" != *"$esc"* && "$nc_out" == *DEADLOCK* ]] && ok "NO_COLOR turns colour off" || ko "colour despite NO_COLOR"
empty_out=$(NO_COLOR= script -qec "$cmd" /dev/null)
[[ "$empty_out" == *"$esc"* ]] && ok "empty NO_COLOR keeps colour" || ko "empty NO_COLOR removed colour"
pipe_out=$(env -u NO_COLOR $cmd | cat)
[[ "$pipe_out" != *"$esc"* && "$pipe_out" == *DEADLOCK* ]] && ok "no colour through a pipe" || ko "colour through a pipe"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
