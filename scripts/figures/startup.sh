#!/usr/bin/env bash
# Start-up figures of the CLI (issue 16): CPU (user + system), wall time and peak resident memory of
# `dump -p PID` and `--help`, without and with the launcher's start-up flags and AOT cache, as medians of
# REPS interleaved runs against one sleeping python3. Needs a built CLI jar and JDK 25 (JAVA_HOME). With
# INSTALLED=PATH/TO/bin/spyglass (made by ./spyglass install), the installed command too; JAR=FILE measures
# another CLI jar. TRAIN="dump --native" trains the cache as the launcher does as root (default: dump).
#
#   REPS=9 scripts/figures/startup.sh
#   INSTALLED=~/.local/bin/spyglass REPS=5 scripts/figures/startup.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
java=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java
jar=${JAR:-$here/examples/target/spyglass-cli.jar}
reps=${REPS:-9}
work=$(mktemp -d)
trap 'kill "$py" 2>/dev/null; rm -rf "$work"' EXIT
python3 -c 'import time; time.sleep(600)' & py=$!
sleep 0.5
"$java" --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -Xms8m -XX:AOTCacheOutput="$work/cli.aot" -Xlog:aot=off \
  -Xlog:cds=off -jar "$jar" ${TRAIN:-dump} -p "$py" >/dev/null 2>&1
plain=(--enable-native-access=ALL-UNNAMED)
fast=(--enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -Xms8m -XX:AOTCache="$work/cli.aot" -Xlog:aot=off -Xlog:cds=off
      -XX:TieredStopAtLevel=1)
configs=(plain fast)
[ -n "${INSTALLED:-}" ] && configs+=(installed)
for i in $(seq "$reps"); do
  for cfg in "${configs[@]}"; do
    for cmd in dump help; do
      args=(dump -p "$py"); [ "$cmd" = help ] && args=(--help)
      if [ "$cfg" = installed ]; then
        run=("$INSTALLED")
      else
        declare -n flags=$cfg
        run=("$java" "${flags[@]}" -jar "$jar")
      fi
      /usr/bin/time -f "$cfg $cmd %e %U %S %M" -a -o "$work/times" "${run[@]}" "${args[@]}" >/dev/null 2>&1
    done
  done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); medians of $reps runs"
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
for cfg in "${configs[@]}"; do
  for cmd in dump help; do
    rows=$(awk -v c="$cfg" -v m="$cmd" '$1==c && $2==m {print $3, $4+$5, $6}' "$work/times")
    printf "%-9s %-4s  wall %s s  cpu %s s  rss %s KB\n" "$cfg" "$cmd" "$(cut -d' ' -f1 <<<"$rows" | median)" \
      "$(cut -d' ' -f2 <<<"$rows" | median)" "$(cut -d' ' -f3 <<<"$rows" | median)"
  done
done
