#!/usr/bin/env bash
# Issue 16's max-rate figures: each sampler as fast as it goes against spinning targets, one fresh target per run,
# samplers interleaved. Prints, per run: thread-samples/s, the sampler process's CPU (user+sys from /proc/PID/stat
# over SECONDS after its first 3 s) in cores and per thread-sample, and its peak resident memory.
# Then (unless SLOWDOWN=0) the target's slowdown while sampled: one 1-thread target, 30 frames deep, alternately
# left alone and sampled at max rate for WINDOW s (after each sampler's first 2 s), ROUNDS times per sampler.
#
# Usage: [SECONDS_PER_RUN=10] [REPS=2] [DEPTHS="30 100"] [THREADS="1 16"] [PYS="python3 ..."] \
#          scripts/figures/max-rate.sh NAME=SAMPLER...     (RATES=0: the slowdown only; SLOWDOWN=0: the rates only;
#          INTERVAL=80us: another interval than the shortest, 1us, for both)
#   SAMPLER: the spyglass launcher (./spyglass) or CLI jar (…/spyglass-cli.jar), or an Austin binary (run with -b:
#   MOJO, Austin 4's default output). Spyglass writes collapsed output.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
secs=${SECONDS_PER_RUN:-10}; reps=${REPS:-2}
java=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java
hz=$(getconf CLK_TCK)
tmp=$(mktemp -d); trap '[[ -n ${KEEP:-} ]] || rm -rf "$tmp"' EXIT; [[ -n ${KEEP:-} ]] && echo "kept: $tmp"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo -1; }

# start NAME BIN PID SECONDS OUT LOG: starts the sampler in the background, its PID in $sampler
start() {
  local bin=$2 pid=$3 s=$4 out=$5 log=$6
  if [[ $bin == *.jar ]]; then
    "$java" --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -Xms8m -jar "$bin" record -p "$pid" -i "${INTERVAL:-1us}" -d "${s}s" \
      -o "$out.collapsed" >"$log" 2>&1 & sampler=$!
  elif [[ $(basename "$bin") == spyglass* ]]; then
    "$bin" record -p "$pid" -i "${INTERVAL:-1us}" -d "${s}s" -o "$out.collapsed" >"$log" 2>&1 & sampler=$!
  else
    "$bin" -b -i "${INTERVAL:-1us}" -x "$s" -p "$pid" -o "$out.mojo" >"$log" 2>&1 & sampler=$!
  fi
}
# samples LOG: thread-samples the sampler says it took
samples() {
  if grep -q 'samples in' "$1"; then grep -o '[0-9,]* samples in' "$1" | tr -dc '0-9'
  else sed 's/\x1b\[[0-9;]*m//g' "$1" | grep -o 'Error rate : [0-9]*/[0-9]*' | sed 's|.*/||'; fi
}

[[ ${RATES:-1} == 0 ]] || printf '%-8s %-7s %5s %7s %12s %7s %14s %8s\n' sampler python depth threads 'samples/s' cores \
  'CPU µs/sample' 'max RSS'
[[ ${RATES:-1} == 0 ]] || for py in ${PYS:-python3}; do
  v=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  for threads in ${THREADS:-1 16}; do
    for depth in ${DEPTHS:-30 100}; do
      [[ $threads != 1 && $depth != 30 ]] && continue
      for rep in $(seq "$reps"); do
        for spec in "$@"; do
          name=${spec%%=*} bin=${spec#*=}
          "$py" "$here/spin_deep.py" "$threads" "$depth" $((secs + 15)) & target=$!
          sleep 1
          start "$name" "$bin" "$target" $((secs + 4)) "$tmp/out" "$tmp/log"
          sleep 3; c0=$(cpu_ticks $sampler); sleep "$secs"; c1=$(cpu_ticks $sampler)
          rss=$(awk '/VmHWM/ {print int($2 / 1024) " MB"}' /proc/$sampler/status 2>/dev/null || echo '?')
          wait $sampler || true
          kill $target 2>/dev/null || true; wait $target 2>/dev/null || true
          n=$(samples "$tmp/log"); n=${n:-0}
          awk -v nm="$name" -v v="$v" -v d="$depth" -v t="$threads" -v n="$n" -v s=$((secs + 4)) -v c=$((c1 - c0)) \
              -v hz="$hz" -v w="$secs" -v rss="$rss" -v bad=$(( c0 < 0 || c1 < 0 )) \
            'BEGIN { r = n / s; cores = c / hz / w
                     if (bad) printf "%-8s %-7s %5d %7d %12d %7s %14s %8s\n", nm, v, d, t, r, "n/a", "(ended early)", rss
                     else printf "%-8s %-7s %5d %7d %12d %7.2f %14.1f %8s\n", nm, v, d, t, r, cores, r ? cores * 1e6 / r : 0, rss }'
        done
      done
    done
  done
done

[[ ${SLOWDOWN:-1} == 0 ]] && exit 0
window=${WINDOW:-5}; rounds=${ROUNDS:-4}
for py in ${PYS:-python3}; do
  v=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  total=$(( $# * rounds * (2 * window + 10) + 10 ))
  "$py" "$here/spin_deep.py" 1 30 "$total" "$tmp/iters" & target=$!
  sleep 2
  : > "$tmp/windows"
  for round in $(seq "$rounds"); do
    for spec in "$@"; do
      name=${spec%%=*} bin=${spec#*=}
      a=$(date +%s.%N); sleep "$window"; echo "off $name $a $(date +%s.%N)" >> "$tmp/windows"
      start "$name" "$bin" "$target" $((window + 2)) "$tmp/out" "$tmp/log"
      sleep 2; a=$(date +%s.%N); sleep "$window"; echo "on $name $a $(date +%s.%N)" >> "$tmp/windows"
      wait $sampler || true
    done
  done
  sleep 0.5; kill $target 2>/dev/null || true; wait $target 2>/dev/null || true
  echo "target slowdown, $v, 1 thread 30 deep, $rounds rounds of ${window} s off / ${window} s on:"
  python3 "$here/window_rates.py" "$tmp/iters" "$tmp/windows"
done
