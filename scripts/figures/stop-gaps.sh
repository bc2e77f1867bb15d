#!/usr/bin/env bash
# The target's own view of issue 11's stops (docs/performance.md, "The stop as the target sees it"): a thread
# that spins reading the clock (native/gaps.py) records every gap of 4 µs or more in which it did not run, with
# no profiler, with `record --native` (brief stops) and with `record --native=nonstop`. The sampler's own
# figure (interrupt request to resume) includes the time the interrupt takes to reach the thread, during which
# the thread still runs; the gaps are what the thread lost.
set -u
# Usage: scripts/figures/stop-gaps.sh [PYTHON]          (writes into a temporary folder)
#   RUN_SECONDS=10  seconds each profiler is attached     REPS=3  rounds of every configuration
#   CONFIGS="none sg1 sg10 ns1"  which rows: none, sg1/sg10 (--native at 1 ms / 10 ms), ns1/ns10 (nonstop),
#     floor1 / floor1same / floor10: native/stop-floor.c at 1 kHz / 1 kHz from the thread's own CPU / 100 Hz, the
#     same stop with no JVM (its own line, with the parts of the stop, is printed after the table; NSMALL= passes on)
here=$(cd "$(dirname "$0")" && pwd)
S="$here/../../spyglass"
PY=${1:-/root/.pyenv/versions/3.12.1/bin/python3}
D=${RUN_SECONDS:-10}
REPS=${REPS:-3}
read -r -a configs <<< "${CONFIGS:-none sg1 sg10 ns1}"
work=$(mktemp -d)

run() { # config round
  local c=$1 r=$2 f="$work/$1-$2" T
  "$PY" "$here/native/gaps.py" $((D + 4)) "$f.gaps" > "$f.ready" &
  T=$!
  sleep 2
  date +%s.%N > "$f.window"
  case $c in
    none) sleep "$D" ;;
    sg1)  "$S" record --native -i 1ms -d "${D}s" -p $T -o "$f.collapsed" > "$f.out" 2>&1 ;;
    sg10) "$S" record --native -i 10ms -d "${D}s" -p $T -o "$f.collapsed" > "$f.out" 2>&1 ;;
    ns1)  "$S" record --native=nonstop -i 1ms -d "${D}s" -p $T -o "$f.collapsed" > "$f.out" 2>&1 ;;
    ns10) "$S" record --native=nonstop -i 10ms -d "${D}s" -p $T -o "$f.collapsed" > "$f.out" 2>&1 ;;
    floor1) "$work/stop-floor" $T 1000 "$D" 0 > "$f.floor" 2>&1 ;;
    floor1same) "$work/stop-floor" $T 1000 "$D" 1 > "$f.floor" 2>&1 ;;
    floor10) "$work/stop-floor" $T 100 "$D" 0 > "$f.floor" 2>&1 ;;
  esac
  date +%s.%N >> "$f.window"
  wait $T 2>/dev/null
}

"$S" record --help >/dev/null 2>&1
gcc -O2 -o "$work/stop-floor" "$here/native/stop-floor.c"
echo "machine: $(nproc) CPUs, $(uname -r); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "target: $PY native/gaps.py, $D s per run, $REPS rounds of: ${configs[*]}"
for r in $(seq 1 "$REPS"); do
  for c in "${configs[@]}"; do run "$c" "$r"; done
  echo "round $r done, load $(cut -d' ' -f1-3 /proc/loadavg)"
done
python3 "$here/native/gap_table.py" "$work" "$REPS" "${configs[@]}"
for f in "$work"/*.floor; do [[ -e $f ]] && echo "$(basename "$f" .floor): $(cat "$f")"; done
echo "files in $work"
