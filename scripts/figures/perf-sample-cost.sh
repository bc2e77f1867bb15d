#!/usr/bin/env bash
# The calibrated cost of one perf sample (issue 12): ROUNDS runs of `record --native=nonstop --kernel -i 10ms -d 3s`
# against a fresh two-thread pure-Python spinner each, printing per run the load, the summary's cost lines and the
# calibration's own DEBUG line (its figure with quartiles, window pairs and how long it ran).
# Usage: [ROUNDS=3] [JAR=examples/target/spyglass-cli.jar] scripts/figures/perf-sample-cost.sh PYTHON
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
py=${1:?usage: perf-sample-cost.sh PYTHON}
jar=${JAR:-$repo/examples/target/spyglass-cli.jar}
java=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/spin.py" <<'PY'
import sys, threading, time
def spin():
    while True:
        sum(range(100))
threading.Thread(target=spin, daemon=True).start()
end = time.time() + float(sys.argv[1])
while time.time() < end:
    sum(range(100))
PY
for r in $(seq "${ROUNDS:-3}"); do
  echo "round $r, load $(cut -d' ' -f1-3 /proc/loadavg)"
  "$java" --enable-native-access=ALL-UNNAMED -Dorg.slf4j.simpleLogger.log.dev.spyglass.internal.kernel.PerfSampleCost=debug \
    -jar "$jar" record --native=nonstop --kernel -i 10ms -d 3s -o "$tmp/out.collapsed" -- "$py" "$tmp/spin.py" 4 \
    2>&1 | grep -E 'snapshots|kernel frames: |Sample cost' | sed 's/^.*\(Sample cost\)/  \1/; s/^spyglass:/ /'
done
