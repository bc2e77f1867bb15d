#!/usr/bin/env bash
# The figures of docs/performance.md "Truthful profiles under load" (issue 10), with two CPU hogs (yes > /dev/null, killed at the end).
set -u
# Usage: scripts/figures/truthful-profiles.sh [PYTHON_3_12] [PYTHON_WITH_NUMPY]   (writes into a temporary folder)
here=$(cd "$(dirname "$0")" && pwd)
S="$here/../../spyglass"
PY=${1:-/root/.pyenv/versions/3.12.1/bin/python3}
NP=${2:-/root/.pyenv/versions/3.11.7/bin/python3}
work=$(mktemp -d)
cp "$here"/busy.py "$here"/phases.py "$here"/share.py "$work"
cd "$work"
yes > /dev/null & H1=$!; yes > /dev/null & H2=$!
trap 'kill $H1 $H2 2>/dev/null' EXIT INT TERM
sleep 1
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in 1 2 3; do
  $S record -d 10s --collapsed-weights -o busy10-$i.collapsed -- $PY busy.py 12 2>&1 | grep -E "samples in"
  python3 share.py busy10-$i.collapsed busy
done
for i in 1 2 3; do
  $S record --collapsed-weights -o phases-$i.collapsed -- $NP phases.py phases-$i.json 2>&1 | grep -E "samples in"
  python3 share.py phases-$i.collapsed argsort_phase python_phase
  python3 -c "import json; d=json.load(open('phases-$i.json')); s=d['argsort_phase']+d['python_phase']; print('own timestamps: argsort_phase=%.1f%% python_phase=%.1f%% of the two phases (%.2f s)' % (100*d['argsort_phase']/s, 100*d['python_phase']/s, s))"
done
ok=0
for i in $(seq 1 20); do
  $S record -o launch-$i.collapsed -- $PY busy.py 0.5 >/dev/null 2>&1
  grep -q "busy" launch-$i.collapsed 2>/dev/null && ok=$((ok+1))
done
echo "20 launches of a 0.5 s busy script: $ok of 20 files contain busy()"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
kill $H1 $H2 2>/dev/null
echo "files in $work"
