#!/usr/bin/env bash
# Ticks delivered per second and the sampler process's CPU at 1 kHz and 10 kHz (issue 16, "cheap per tick"),
# against a one-thread, 30-frames-deep busy target, for each sampler given; one target per run.
# Usage: [SECONDS_PER_RUN=15] [PY=python3] cadence.sh NAME=JAR_OR_AUSTIN... e.g.
#   scripts/figures/cadence.sh after=examples/target/spyglass-cli.jar austin=/path/to/austin
# A NAME=...jar is run as `java -jar JAR record`, a NAME=.../spyglass (the launcher, or the installed command) with
# its own flags, as a user runs it; anything else as Austin (`-b -i US -x S -p PID`: MOJO, Austin 4's default output).
# Each run lasts SECONDS + 5 s; CPU is user+sys from /proc/PID/stat over SECONDS after its first 3 s (start-up, JIT, attach),
# as % of one core; ticks/s is over the whole run (the summary's for spyglass, output lines for Austin).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
secs=${SECONDS_PER_RUN:-15}
py=${PY:-python3}
java=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java
hz=$(getconf CLK_TCK)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo -1; } # -1: the sampler had ended
printf '%-10s %8s %12s %10s %14s\n' sampler interval 'ticks/s' 'CPU %' 'CPU µs/tick'
for interval in 1000 100; do
  for spec in "$@"; do
    name=${spec%%=*} bin=${spec#*=}
    "$py" "$here/depth30.py" $((secs + 12)) & target=$!
    sleep 1
    if [[ $bin == *.jar ]]; then
      "$java" --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -jar "$bin" record -p "$target" \
        -i "${interval}us" -d "$((secs + 5))s" -o "$tmp/out.txt" >"$tmp/log" 2>&1 & sampler=$!
    elif [[ $(basename "$bin") == spyglass* ]]; then
      "$bin" record -p "$target" -i "${interval}us" -d "$((secs + 5))s" -o "$tmp/out.txt" >"$tmp/log" 2>&1 & sampler=$!
    else
      "$bin" -b -i "$interval" -x "$((secs + 5))" -p "$target" -o "$tmp/out.mojo" >"$tmp/log" 2>&1 & sampler=$!
    fi
    sleep 3
    c0=$(cpu_ticks $sampler)
    sleep "$secs"
    c1=$(cpu_ticks $sampler)
    wait $sampler || true
    kill $target 2>/dev/null || true
    wait $target 2>/dev/null || true
    if [[ $bin == *.jar || $(basename "$bin") == spyglass* ]]; then
      rate=$(grep -o '([0-9,]* ticks/s achieved' "$tmp/log" | tr -dc '0-9')
    else # Austin's own count of the samples it took, from its closing statistics (-b writes them to stderr)
      rate=$(( $(sed 's/\x1b\[[0-9;]*m//g' "$tmp/log" | grep -o 'Error rate : [0-9]*/[0-9]*' | sed 's|.*/||') / (secs + 5) ))
    fi
    awk -v n="$name" -v i="$interval" -v r="$rate" -v c=$((c1 - c0)) -v hz="$hz" -v s="$secs" \
      -v ended=$(( c0 < 0 || c1 < 0 )) \
      'BEGIN { cpu = c / hz / s
               if (ended) printf "%-10s %6dus %12d %10s %14s\n", n, i, r, "n/a", "n/a (ended early)"
               else printf "%-10s %6dus %12d %9.1f%% %14.1f\n", n, i, r, cpu * 100, r ? cpu * 1e6 / r : 0 }'
  done
done
