#!/bin/bash
# Resident memory of a recording over time (issue 16's "≤ 64 MB and flat" at 1 kHz): records the one-thread,
# 30-frames-deep target with ./spyglass for SECONDS and prints the sampler's VmRSS every 5 s from 8 s, and its CPU.
#   scripts/figures/footprint.sh [INTERVAL=1ms] [SECONDS=62]
# PY picks the target's interpreter; SPYGLASS_JAVA_OPTS passes JVM flags to try (e.g. -XX:TieredStopAtLevel=1).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
interval=${1:-1ms}
secs=${2:-62}
PY=${PY:-/root/.pyenv/versions/3.12.1/bin/python3}
out=$(mktemp -d)
trap 'rm -rf "$out"; kill "$t" 2>/dev/null || true' EXIT
"$PY" "$here/scripts/figures/depth30.py" $((secs + 15)) & t=$!
"$here/spyglass" record -p "$t" -i "$interval" -d "${secs}s" -o "$out/r.collapsed" >/dev/null 2>&1 & r=$!
sleep 3
s=$(pgrep -f "record -p $t" | head -n1)
rss=""
for _ in $(seq $(((secs - 5) / 5))); do
  sleep 5
  rss="$rss $(awk '/VmRSS/{print int($2/1024)}' "/proc/$s/status")"
done
cpu=$(awk '{printf "%.2f", ($14+$15)/100}' "/proc/$s/stat")
wait "$r" || true
echo "record -i $interval: VmRSS every 5 s from 8 s:$rss MB; CPU ${cpu} s; load $(cut -d' ' -f1-3 /proc/loadavg)"
