#!/usr/bin/env bash
# The figures of docs/performance.md "Native frames" (issue 11): what stopping a thread to unwind its native
# stack costs the target, for Spyglass's `record --native` and for libunwind-ptrace as austinp and py-spy
# --native use it (native/unwind-ptrace.c; austinp itself when AUSTINP names a built one).
set -u
# Usage: scripts/figures/native-frames.sh [PYTHON_3_12]      (writes into a temporary folder)
#   RUN_SECONDS=10  seconds each profiler is attached     REPS=3  rounds; each round runs every configuration once
#   AUSTINP=path    an austinp binary (Austin's native build; native/build-austinp.sh makes one) for the austinp
#                   rows; none: those rows are skipped
#   PIN=0           1: the target on CPU 0, the profiler on CPU 1. Off by default: pinned, a stopped target
#                   waits for the profiler's CPU even while its own sits idle, so on a loaded machine the stops
#                   measure the other jobs on CPU 1; unpinned, the profiler's own CPU use (last column) can
#                   take the target's core, which the slowdown column then includes.
#
# Each run starts a fresh target (native/throughput.py, which prints its iterations per second), lets it warm
# up for 2 s, attaches one configuration for RUN_SECONDS, then ends the target. The rounds run the
# configurations in turn, so a change of the machine's load touches every configuration alike; the spread
# of the no-profiler runs is the noise floor. native/table.py prints the markdown table. The row "SCHED_FIFO"
# runs the sampler ahead of every normal task: its stops show what one stop costs when the sampler never
# waits for a CPU (on a loaded machine the other rows' stops mostly measure that wait).
here=$(cd "$(dirname "$0")" && pwd)
S="$here/../../spyglass"
PY=${1:-/root/.pyenv/versions/3.12.1/bin/python3}
D=${RUN_SECONDS:-10}
REPS=${REPS:-3}
PIN=${PIN:-0}
AUSTINP=${AUSTINP:-}
work=$(mktemp -d)

if [ ! -f /usr/include/libunwind-ptrace.h ] && [ ! -f /usr/include/x86_64-linux-gnu/libunwind-ptrace.h ]; then
  # Not in scripts/install-test-deps.sh: no test needs libunwind, only this figure.
  echo "native-frames: libunwind-ptrace.h is missing; installing Debian's libunwind-dev for native/unwind-ptrace.c"
  if [ "$(id -u)" -eq 0 ]; then sudo_cmd=(); else sudo_cmd=(sudo -n); fi
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends libunwind-dev >"$work/apt.log" 2>&1 ||
    { echo "native-frames: apt-get install libunwind-dev failed (see $work/apt.log); install it and run again"; exit 1; }
fi
cc -O2 -Wall -o "$work/unwind-ptrace" "$here/native/unwind-ptrace.c" -lunwind-ptrace -lunwind-generic -lunwind ||
  { echo "native-frames: cannot build native/unwind-ptrace.c"; exit 1; }

target_cpu=(); profiler_cpu=()
if [ "$PIN" = 1 ]; then target_cpu=(taskset -c 0); profiler_cpu=(taskset -c 1); fi

configs=(none up100 up1000 up100rt)
if "$S" record --help 2>/dev/null | grep -q -- '--native'; then
  configs+=(sg10 sg1)
else
  echo "spyglass --native: not available yet"
fi
if [ -n "$AUSTINP" ] && [ -x "$AUSTINP" ]; then
  configs+=(ap10 ap1)
else
  echo "austinp: not given (AUSTINP=path/to/austinp), its rows are skipped"
fi
# CONFIGS="none py10 k10 sg10 ns10 ..." picks the rows (issue 12's comparison: Python only, with kernel
# frames, the brief-stop and the no-stop native engines).
if [ -n "${CONFIGS:-}" ]; then read -r -a configs <<< "$CONFIGS"; fi

run() { # config round
  local c=$1 r=$2 f="$work/$1-$2" T
  "${target_cpu[@]}" "$PY" "$here/native/throughput.py" $((D + 30)) > "$f.rates" &
  T=$!
  sleep 2
  date +%s.%N > "$f.window"
  case $c in
    none)   sleep "$D" ;;
    up100)  "${profiler_cpu[@]}" /usr/bin/time -f "cpu %U %S" -o "$f.time" "$work/unwind-ptrace" $T 100 "$D" > "$f.json" ;;
    up1000) "${profiler_cpu[@]}" /usr/bin/time -f "cpu %U %S" -o "$f.time" "$work/unwind-ptrace" $T 1000 "$D" > "$f.json" ;;
    up100rt) "${profiler_cpu[@]}" /usr/bin/time -f "cpu %U %S" -o "$f.time" chrt -f 10 "$work/unwind-ptrace" $T 100 "$D" > "$f.json" ;;
    sg10)   "${profiler_cpu[@]}" /usr/bin/time -f "cpu %U %S" -o "$f.time" "$S" record --native -i 10ms -d "${D}s" -p $T -o "$f.collapsed" > "$f.out" 2>&1 ;;
    sg1)    "${profiler_cpu[@]}" /usr/bin/time -f "cpu %U %S" -o "$f.time" "$S" record --native -i 1ms -d "${D}s" -p $T -o "$f.collapsed" > "$f.out" 2>&1 ;;
    py10)   "${profiler_cpu[@]}" /usr/bin/time -f "cpu %U %S" -o "$f.time" "$S" record -i 10ms -d "${D}s" -p $T -o "$f.collapsed" > "$f.out" 2>&1 ;;
    py1)    "${profiler_cpu[@]}" /usr/bin/time -f "cpu %U %S" -o "$f.time" "$S" record -i 1ms -d "${D}s" -p $T -o "$f.collapsed" > "$f.out" 2>&1 ;;
    k10)    "${profiler_cpu[@]}" /usr/bin/time -f "cpu %U %S" -o "$f.time" "$S" record --kernel -i 10ms -d "${D}s" -p $T -o "$f.collapsed" > "$f.out" 2>&1 ;;
    k1)     "${profiler_cpu[@]}" /usr/bin/time -f "cpu %U %S" -o "$f.time" "$S" record --kernel -i 1ms -d "${D}s" -p $T -o "$f.collapsed" > "$f.out" 2>&1 ;;
    ns10)   "${profiler_cpu[@]}" /usr/bin/time -f "cpu %U %S" -o "$f.time" "$S" record --native=nonstop -i 10ms -d "${D}s" -p $T -o "$f.collapsed" > "$f.out" 2>&1 ;;
    ns1)    "${profiler_cpu[@]}" /usr/bin/time -f "cpu %U %S" -o "$f.time" "$S" record --native=nonstop -i 1ms -d "${D}s" -p $T -o "$f.collapsed" > "$f.out" 2>&1 ;;
    ap10)   "${profiler_cpu[@]}" /usr/bin/time -f "cpu %U %S" -o "$f.time" "$AUSTINP" -s -i 10ms -x "$D" -p $T -o "$f.austin" > "$f.out" 2>&1 ;;
    ap1)    "${profiler_cpu[@]}" /usr/bin/time -f "cpu %U %S" -o "$f.time" "$AUSTINP" -s -i 1ms -x "$D" -p $T -o "$f.austin" > "$f.out" 2>&1 ;;
  esac
  date +%s.%N >> "$f.window"
  kill $T 2>/dev/null; wait $T 2>/dev/null
}

# The launcher builds Spyglass if needed before the first timed run, not during it.
"$S" record --help >/dev/null 2>&1
echo "machine: $(nproc) CPUs, $(uname -r); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "target: $PY native/throughput.py, $D s per run, $REPS rounds of: ${configs[*]}; PIN=$PIN"
for r in $(seq 1 "$REPS"); do
  for c in "${configs[@]}"; do run "$c" "$r"; done
  echo "round $r done, load $(cut -d' ' -f1-3 /proc/loadavg)"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$here/native/table.py" "$work" "$REPS" "${configs[@]}"
echo "files in $work"
