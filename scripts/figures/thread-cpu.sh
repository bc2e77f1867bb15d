#!/bin/bash
# Per-thread CPU (ms, user+sys from /proc/PID/task/TID/stat) of `record -i 1ms` against the one-thread, 30-frames-deep
# pyenv 3.12 target, over SECONDS after WARM seconds (C2 compiles for ~10 s at 1 kHz), and CPU per tick taken.
# Usage: [WARM=15] [JOPTS="-XX:..."] scripts/figures/thread-cpu.sh JAR [SECONDS]
JAR=$1; S=${2:-15}; WARM=${WARM:-6}
PY=${PY:-/root/.pyenv/versions/3.12.1/bin/python3}; J=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin
set -u; tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
$PY "$(dirname "$0")/depth30.py" $((S+WARM+14)) & t=$!; sleep 1
$J/java --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC ${JOPTS:-} -jar $JAR record -p $t -i 1ms -d $((S+WARM+3))s -o $tmp/tc.collapsed > $tmp/tc.log 2>&1 & s=$!
sleep ${WARM:-6}
snap() { for tid in $(ls /proc/$s/task); do echo "$tid $(tr ' ' _ < /proc/$s/task/$tid/comm) $(awk '{print $14+$15}' /proc/$s/task/$tid/stat)"; done | sort; }
snap > $tmp/tc0; sleep $S; snap > $tmp/tc1
wait $s; kill $t 2>/dev/null
rate=$(grep -o '([0-9,]* ticks/s achieved' $tmp/tc.log | tr -dc '0-9')
join $tmp/tc0 $tmp/tc1 | awk -v r=$rate -v S=$S -v hz=$(getconf CLK_TCK) '{d=($NF-$(NF-2))*1000/hz; tot+=d; if(d>0) printf "%s=%d ", $2, d} END {printf " | total %d ms/%ds, %d ticks/s, %.0f us/tick\n", tot, S, r, tot*1000/(r*S)}'
