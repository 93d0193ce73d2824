#!/usr/bin/env bash
# The short version of the dump acceptance (tests/truth/dumps.py; `make truth`
# takes 20 dumps per path): 3 dumps by each capture path (poolshim run with
# auto and with ptrace, the in-process signal, poolshim dump PID on the
# program not under the shim), none of the program's waits cut short.
set -uo pipefail
python3 "$(dirname "$0")/../truth/dumps.py" "${1:-build}" --dumps 3
rc=$?
[ $rc -eq 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit $rc
