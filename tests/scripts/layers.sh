#!/usr/bin/env bash
# layers.sh: the shim's folders are layers, and includes point one way only.
# Each folder below may include headers of its own folder and of the folders
# listed after it, never of one listed before: a newcomer can read the shim
# bottom-up (base, then what the wrappers record, ...) without meeting a name
# from a layer above. Run by scripts/test.sh; fails with each offending include.
#   wrap/        the interposed functions: where the program calls in (top)
#   shim/        init.c, agent.c: the life cycle and the agent's loop
#   output/      report, profile, metrics, dumps: the view written out
#   control/     sampler, view, control law, throttle, expansion: the agent's work
#   capture/     stacks and allocations taken for a dump, the supervisor's protocol
#   record/      what the wrappers write: threads, pools, objects, trace rings
#   base/        clock, configuration, logging, files, symbols, JSON
# The wrappers are the top because the program enters through them and they
# reach every layer (the exec wrapper ends the life cycle, a wait parks in the
# throttle, a dump signal's restart goes to capture); no layer includes them.
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 - <<'PY'
import os, re, sys
order = ['wrap', '.', 'output', 'control', 'capture', 'record', 'base']
rank = {f: i for i, f in enumerate(order)}
where = {}
for f in order:
    d = os.path.join('shim', f)
    for name in os.listdir(d):
        if name.endswith(('.c', '.h')):
            where[name] = f
bad = 0
for name, f in sorted(where.items()):
    src = open(os.path.join('shim', f, name)).read()
    for inc in re.findall(r'^#include "([^"]+)"', src, re.M):
        g = where.get(os.path.basename(inc))
        if g is None:
            print(f'layers: shim/{f}/{name} includes "{inc}", which is not a shim header'); bad += 1
        elif rank[g] < rank[f]:
            print(f'layers: shim/{f}/{name} includes {g}/{inc}: {g}/ is a layer above {f}/'); bad += 1
folders = [f for f in order if f != '.']
for name in os.listdir('shim'):
    if name.endswith(('.c', '.h')) and name not in where:
        print(f'layers: shim/{name} is in no layer'); bad += 1
if bad:
    sys.exit(1)
print(f'layers: {len(where)} files in {len(order)} layers, every include points down')
PY
