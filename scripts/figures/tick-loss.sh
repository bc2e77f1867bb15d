#!/bin/bash
# Where a recording's ticks go (issue 16, 10 kHz): one `record` of the one-thread, 30-frames-deep target, with the
# session's DEBUG line (wake-up lateness and look-time histograms, ticks in the first second, gaps of more than one
# interval and the ticks skipped in them), the JVM's GC pauses, and the sampling thread's scheduler figures over
# SECONDS after WARM seconds (/proc/PID/task/TID/schedstat: time on a CPU, time runnable but waiting in a run
# queue, and times put on a CPU), with the load average. A thread that waits in the run queue for as long as it
# runs is held to its fair share of the CPUs; no way of sleeping changes that.
# Usage: [WARM=4] [INTERVAL=100us] [PY=python3] [JOPTS="-X..."] scripts/figures/tick-loss.sh JAR [SECONDS]
JAR=$1; S=${2:-10}; WARM=${WARM:-4}; IV=${INTERVAL:-100us}
PY=${PY:-/root/.pyenv/versions/3.12.1/bin/python3}; J=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin
set -u; tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
$PY "$(dirname "$0")/depth30.py" $((S + WARM + 14)) & t=$!; sleep 1
$J/java --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -Xlog:gc:file=$tmp/gc.log \
  -Dorg.slf4j.simpleLogger.log.dev.spyglass.SamplingSession=debug ${JOPTS:-} -jar "$JAR" record -p $t -i "$IV" \
  -d $((S + WARM + 3))s -o $tmp/out.collapsed > $tmp/log 2>&1 & s=$!
sleep "$WARM"
tid=""; for x in /proc/$s/task/*; do [ "$(cat $x/comm 2>/dev/null)" = spyglass-sample ] && tid=${x##*/}; done
l0=$(cut -d' ' -f1 /proc/loadavg); a=$(cat /proc/$s/task/$tid/schedstat 2>/dev/null)
sleep "$S"
b=$(cat /proc/$s/task/$tid/schedstat 2>/dev/null); l1=$(cut -d' ' -f1 /proc/loadavg)
wait $s; kill $t 2>/dev/null; wait $t 2>/dev/null
echo "load average $l0 -> $l1"
grep -o 'looks before sampling.*' $tmp/log
grep -o 'every .*' $tmp/log
grep -o '[0-9,]* samples in .*achieved' $tmp/log
awk '/Pause/ {n++; ms += $NF + 0} END {printf "GC: %d pauses, %.1f ms in all\n", n, ms}' $tmp/gc.log
echo "$a $b" | awk -v S=$S '{ if (NF < 6) { print "sampling thread: ended early"; exit }
  printf "sampling thread over %d s: on a CPU %.0f ms, runnable in a run queue %.0f ms (%.0f µs per time put on a CPU), put on a CPU %d times\n",
    S, ($4 - $1) / 1e6, ($5 - $2) / 1e6, ($5 - $2) / 1e3 / ($6 - $3), $6 - $3 }'
