#!/usr/bin/env bash
# Ticks delivered per second and the sampler process's CPU at 1 kHz in wall mode against 200 threads, each 20
# Python frames deep (issue 16: "200 threads x depth 20 at 1 kHz in wall mode: >= 950 ticks/s with <= 0.5 of a core").
# Two targets per interpreter: all threads blocked (a server's idle pool), and SPIN (default 4) of them busy.
# SAMPLER_JAVA_OPTS: more JVM options for the sampler (e.g. -XX:StartFlightRecording=filename=/tmp/s.jfr to profile it).
# Usage: [SECONDS_PER_RUN=10] [RUNS=3] [THREADS=200] [DEPTH=20] [SPIN=4] [INTERVAL=1ms] [JAR=examples/target/spyglass-cli.jar]
#        many-threads.sh PYTHON...   e.g. scripts/figures/many-threads.sh ~/.pyenv/versions/3.12.*/bin/python3
# CPU is user+sys from /proc/PID/stat over SECONDS after the first 3 s (JVM start, JIT, attach), as % of one core,
# with the part of it in the kernel; ticks/s is the recording summary's over the whole run (-d SECONDS + 4 s).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${SECONDS_PER_RUN:-10}
runs=${RUNS:-3}
threads=${THREADS:-200}
depth=${DEPTH:-20}
spin=${SPIN:-4}
interval=${INTERVAL:-1ms}
jar=${JAR:-$root/examples/target/spyglass-cli.jar}
java=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java
hz=$(getconf CLK_TCK)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cpu_ticks() { awk '{print $14 + $15, $15}' "/proc/$1/stat" 2>/dev/null || echo "-1 -1"; } # -1: the sampler had ended
echo "# $(date -u +%FT%TZ) load average: $(cut -d' ' -f1-3 /proc/loadavg); $threads threads x depth $depth, -i $interval, wall mode"
printf '%-14s %5s %4s %10s %9s %9s %12s\n' python spin run 'ticks/s' 'CPU %' 'sys %' 'CPU µs/tick'
for py in "$@"; do
  v=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  for s in 0 "$spin"; do
    for run in $(seq "$runs"); do
      "$py" "$here/many_threads.py" $((secs + 15)) "$threads" "$depth" "$s" & target=$!
      sleep 2 # every thread started and blocked
      "$java" --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC ${SAMPLER_JAVA_OPTS:-} -jar "$jar" record -p "$target" --mode wall \
        -i "$interval" -d "$((secs + 4))s" -f collapsed -o "$tmp/out.txt" >"$tmp/log" 2>&1 & sampler=$!
      sleep 3
      read -r c0 k0 < <(cpu_ticks $sampler)
      sleep "$secs"
      read -r c1 k1 < <(cpu_ticks $sampler)
      wait $sampler || true
      kill $target 2>/dev/null || true
      wait $target 2>/dev/null || true
      rate=$(grep -o '([0-9,]* ticks/s achieved' "$tmp/log" | tr -dc '0-9' || true)
      awk -v py="$v" -v s="$s" -v run="$run" -v r="${rate:-0}" -v c=$((c1 - c0)) -v k=$((k1 - k0)) -v hz="$hz" \
        -v secs="$secs" -v ended=$(( c0 < 0 || c1 < 0 )) \
        'BEGIN { if (ended) { printf "%-14s %5d %4d %10d %9s %9s %12s\n", py, s, run, r, "n/a", "n/a", "n/a"; exit }
                 cpu = c / hz / secs
                 printf "%-14s %5d %4d %10d %8.1f%% %8.1f%% %12.0f\n", py, s, run, r, cpu * 100, k / hz / secs * 100, r ? cpu * 1e6 / r : 0 }'
    done
  done
done
