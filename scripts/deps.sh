#!/usr/bin/env bash
# Installs the Debian packages poolshim builds and tests with, only those missing.
# Runs apt-get as root (or through sudo); does nothing when everything is present.
# `deps.sh truth` adds what only `make truth` runs (a JDK: the pool the article sizes;
# ripgrep: a real program's pool waiting on the disk;
# perf: the observer's exact shares of blocked time, tests/truth/observe.py --exact).
set -euo pipefail
pkgs=(build-essential pkg-config libunwind-dev libjemalloc-dev libcriterion-dev libjansson-dev libdw-dev
      python3 python3-jsonschema pigz lbzip2 zstd xz-utils sysbench clang valgrind libclang-rt-14-dev chromium jq strace time nodejs
      zlib1g-dev golang-go prometheus prometheus-node-exporter groff-base
      libuv1-dev libglib2.0-dev libapr1-dev libtbb-dev memcached libmemcached-tools libc6-dbg python3-numpy libopenblas0-pthread libvips-tools x265 ruby tabix)
[ "${1:-}" = truth ] && pkgs+=(default-jdk-headless linux-perf ripgrep)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "poolshim: installing ${missing[*]}" >&2
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
