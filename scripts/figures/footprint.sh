#!/bin/bash
# Resident memory of a recording over time (issue 16's "≤ 64 MB and flat" at 1 kHz): records the one-thread,
# 30-frames-deep target with ./spyglass for SECONDS and prints the sampler's VmRSS every 5 s from 8 s, and its CPU.
#   scripts/figures/footprint.sh [INTERVAL=1ms] [SECONDS=62]
# PY picks the target's interpreter; SPYGLASS_JAVA_OPTS passes JVM flags to try (e.g. -XX:TieredStopAtLevel=1).
# WALL=1: the target sleeps at the bottom of its 30 frames and is recorded in wall mode (every tick a sample, as the
# busy one in CPU mode, without a core taken from whatever else runs: for long runs). EVERY=60: a reading a minute.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
interval=${1:-1ms}
secs=${2:-62}
PY=${PY:-/root/.pyenv/versions/3.12.1/bin/python3}
out=$(mktemp -d)
trap 'rm -rf "$out"; kill "$t" 2>/dev/null || true' EXIT
every=${EVERY:-5}
mode=()
if [[ -n ${WALL:-} ]]; then
  "$PY" "$here/scripts/figures/depth30.py" $((secs + 15)) sleep & t=$!
  mode=(--mode wall)
else
  "$PY" "$here/scripts/figures/depth30.py" $((secs + 15)) & t=$!
fi
"$here/spyglass" record -p "$t" "${mode[@]}" -i "$interval" -d "${secs}s" -o "$out/r.collapsed" >"$out/log" 2>&1 & r=$!
sleep 3
s=$(pgrep -f "record -p $t" | head -n1)
rss="" cpu="?"
for _ in $(seq $(((secs - 5) / every))); do
  sleep "$every"
  m=$(awk '/VmRSS/{print int($2/1024)}' "/proc/$s/status" 2>/dev/null) || break # the recording has ended
  cpu=$(awk '{printf "%.2f", ($14+$15)/100}' "/proc/$s/stat" 2>/dev/null) || break
  rss="$rss $m"
  [[ $every -lt 60 ]] || echo "$(date +%T) VmRSS $m MB, CPU $cpu s" # long runs: a line as it goes
done
wait "$r" || true
echo "record -i $interval ${mode[*]}: VmRSS every $every s from $((3 + every)) s:$rss MB; CPU ${cpu} s by the last;" \
  "$(grep -o '[0-9,]* ticks/s achieved' "$out/log" || echo 'no summary'); load $(cut -d' ' -f1-3 /proc/loadavg)"
