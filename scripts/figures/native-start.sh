#!/usr/bin/env bash
# The first seconds of native sampling (issue 12, "slow first start"): samples per quarter second of
# `record -i 10ms -d 4s` on a launched busy.py, Python frames only, `--native` and `--native=nonstop`, one fresh JVM
# each. The native engines build each mapped object's call-frame table and symbol index on first use (libpython 3.12:
# ~0.5 s cold under load 5), so their first quarters hold few samples.
# Usage: [PY=python3.12] [JAR=examples/target/spyglass-cli.jar] scripts/figures/native-start.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
java=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java
PY=${PY:-/root/.pyenv/versions/3.12.1/bin/python3}; JAR=${JAR:-$here/examples/target/spyglass-cli.jar}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
for mode in "" --native --native=nonstop; do
  "$java" --enable-native-access=ALL-UNNAMED -jar "$JAR" record $mode -i 10ms -d 4s -f jsonl -o "$tmp/out.jsonl" \
    -- "$PY" "$here/scripts/figures/busy.py" 30 > "$tmp/log" 2>&1 || true
  python3 - "${mode:-python-only}" "$tmp/out.jsonl" <<'PY'
import collections, json, sys
ts = [d["ts"] for d in map(json.loads, open(sys.argv[2])) if "ts" in d]
c = collections.Counter(int((t - ts[0]) / 2.5e8) for t in ts) if ts else {}
print("%-16s samples per 250 ms: %s" % (sys.argv[1], [c.get(i, 0) for i in range(16)]))
PY
done
