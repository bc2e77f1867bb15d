#!/bin/sh
# The target's cost of the memory modes (docs/performance.md, "Memory modes"): the same allocation-heavy script
# (memory/alloc.py, RUN_SECONDS of work) alone and under `spyglass record` in each configuration, REPS rounds,
# configurations interleaved. Prints one line per run: configuration, units of work, wall and target CPU seconds.
# MALLOC_MMAP_THRESHOLD_ fixes glibc's threshold so the 256 KiB blocks are mapped and unmapped every time.
set -eu
cd "$(dirname "$0")/../.."
PY=${PY:-/root/.pyenv/versions/3.12.1/bin/python3}
REPS=${REPS:-3}
RUN_SECONDS=${RUN_SECONDS:-10}
CONFIGS=${CONFIGS:-"none mem10 mem1 faults10"}
OUT=$(mktemp -d)
export MALLOC_MMAP_THRESHOLD_=131072
./spyglass --version > /dev/null 2>&1 || true   # build once, outside the timed runs
for rep in $(seq "$REPS"); do
  for c in $CONFIGS; do
    case $c in
      none) set -- "$PY" scripts/figures/memory/alloc.py "$RUN_SECONDS" ;;
      mem10) set -- ./spyglass record --mode memory -i 10ms -o "$OUT/m.collapsed" -- "$PY" scripts/figures/memory/alloc.py "$RUN_SECONDS" ;;
      mem1) set -- ./spyglass record --mode memory -i 1ms -o "$OUT/m.collapsed" -- "$PY" scripts/figures/memory/alloc.py "$RUN_SECONDS" ;;
      faults10) set -- ./spyglass record --mode faults -i 10ms -o "$OUT/f.collapsed" -- "$PY" scripts/figures/memory/alloc.py "$RUN_SECONDS" ;;
      *) echo "unknown configuration $c" >&2; exit 2 ;;
    esac
    "$@" > "$OUT/run.txt" 2>&1 || true
    echo "$c rep $rep: $(grep '^units ' "$OUT/run.txt") $(grep -o '[0-9,]* samples in [0-9.]* s ([0-9]* ticks/s' "$OUT/run.txt" || true)"
  done
done
rm -rf "$OUT"
