#!/usr/bin/env bash
# bench/overhead.sh: issue 13's acceptance table, the shim's default overhead
# on real programs: wall time and peak RSS with the shim (its defaults: control
# advise, dumps on, summary off) against the same program without it, in
# alternating rounds (bench/alloc.sh: each round runs both, the order swapping
# from round to round).
# Usage: bash bench/overhead.sh [BUILD_DIR]
#   OVH_PAIRS=N      rounds per program (default 7)
#   OVH_PAIRS_SB2=N  rounds for sysbench threads --threads=2 (default 15: the
#                    noisiest case, given a bootstrap interval)
#   OVH_PROGRAMS=... default "pigz sysbench sysbench2 node python pylauncher memcached"
# Programs and their commands: bench/alloc.sh. Writes the raw samples to
# BUILD_DIR/bench/results/overhead-samples.txt and prints the table:
# per program the median of the per-round ratios (with shim / without) of wall
# time, its min-max, a 95 % bootstrap interval of that median (2,000
# resamples of the rounds), the peak RSS of each side (median) and whether
# the bar is met: wall median within 0.97-1.03, peak RSS <= 1.10x or <= +8 MiB.
set -uo pipefail
if [ -n "${BENCH_FROM_MAKE:-}" ]; then
  echo "overhead.sh: ~20 minutes, not part of make bench: run make bench-overhead" >&2; exit 0
fi
B=${1:-build}
B=$(cd "$B" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
PAIRS=${OVH_PAIRS:-7}
PAIRS_SB2=${OVH_PAIRS_SB2:-15}
PROGRAMS=${OVH_PROGRAMS:-pigz sysbench sysbench2 node python pylauncher memcached}
RAW=$B/bench/results/overhead-samples.txt
mkdir -p "$(dirname "$RAW")"
: > "$RAW"
echo "overhead.sh: $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)" >&2
for prog in $PROGRAMS; do
  n=$PAIRS; [ "$prog" = sysbench2 ] && n=$PAIRS_SB2
  ALLOC_PAIRS=$n ALLOC_PROGRAMS=$prog ALLOC_VARIANTS="none shim" ALLOC_BUDGET_S=0 \
    ALLOC_RAW="$RAW.$prog" bash "$HERE/alloc.sh" "$B" > /dev/null
  cat "$RAW.$prog" >> "$RAW" 2>/dev/null
  rm -f "$RAW.$prog"
done
echo "overhead.sh: load after: $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ); samples in $RAW" >&2
python3 - "$RAW" <<'EOF'
import random, sys, statistics as st
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
runs, progs = {}, []
for p, v, i, t, rss, us, sy, dumps, load in rows:
    if p not in progs:
        progs.append(p)
    runs[(p, v, int(i))] = (float(t), int(rss) / 1024, float(load), int(dumps))
random.seed(13)
print("| program | pairs | wall with / without: median (min-max) | 95 % bootstrap CI of the median | peak RSS MiB without / with | RSS ratio (delta) | dumps | load 1-min (median) | met? time / memory |")
print("|---|---|---|---|---|---|---|---|---|")
for p in progs:
    idx = sorted(i for (q, v, i) in runs if q == p and v == "none" and (p, "shim", i) in runs)
    if not idx:
        continue
    r = [runs[(p, "shim", i)][0] / runs[(p, "none", i)][0] for i in idx]
    boot = sorted(st.median(random.choices(r, k=len(r))) for _ in range(2000))
    lo, hi = boot[int(0.025 * len(boot))], boot[int(0.975 * len(boot)) - 1]
    m0 = st.median(runs[(p, "none", i)][1] for i in idx)
    m1 = st.median(runs[(p, "shim", i)][1] for i in idx)
    med = st.median(r)
    t_ok = 0.97 <= med <= 1.03
    m_ok = m1 <= 1.10 * m0 or m1 - m0 <= 8
    load = st.median(runs[(p, v, i)][2] for i in idx for v in ("none", "shim"))
    dumps = sum(runs[(p, "shim", i)][3] for i in idx)
    print("| %s | %d | %.3f (%.3f-%.3f) | %.3f-%.3f | %.1f / %.1f | %.2f (%+.1f MiB) | %d | %.1f | %s / %s |" % (
        p, len(idx), med, min(r), max(r), lo, hi, m0, m1, m1 / m0, m1 - m0, dumps, load,
        "yes" if t_ok else "no", "yes" if m_ok else "no"))
EOF
