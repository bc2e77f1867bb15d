#!/usr/bin/env bash
# The first seconds of native sampling (issue 12, "slow first start"): samples per quarter second of
# `record -i 10ms -d 4s` on a launched busy.py, Python frames only, `--native` and `--native=nonstop`, one fresh JVM
# each, and of each quarter's samples those under <native frames unknown>. Building each mapped object's call-frame table and
# symbol index takes ~0.5 s for libpython 3.12 cold under load 5: on the sampling thread until 6 Dec 2026 (the first
# quarters held few samples), on a thread of its own since (the first samples go out under <native frames unknown>).
# Usage: [PY=python3.12] [JAR=examples/target/spyglass-cli.jar | LAUNCHER=./spyglass] scripts/figures/native-start.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
java=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java
PY=${PY:-/root/.pyenv/versions/3.12.1/bin/python3}; JAR=${JAR:-$here/examples/target/spyglass-cli.jar}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
for mode in "" --native --native=nonstop; do
  # LAUNCHER=./spyglass: through the launcher (its start-up cache) instead of a bare java -jar.
  ${LAUNCHER:-"$java" --enable-native-access=ALL-UNNAMED -jar "$JAR"} record $mode -i 10ms -d 4s -f jsonl -o "$tmp/out.jsonl" \
    -- "$PY" "$here/scripts/figures/busy.py" 30 > "$tmp/log" 2>&1 || true
  python3 - "${mode:-python-only}" "$tmp/out.jsonl" <<'PY'
import collections, json, sys
ss = [d for d in map(json.loads, open(sys.argv[2])) if "ts" in d]
t0 = ss[0]["ts"] if ss else 0
c, n = collections.Counter(), collections.Counter()
for d in ss:
    q = int((d["ts"] - t0) / 2.5e8)
    c[q] += 1
    n[q] += any(f.get("function") == "<native frames unknown>" for f in d["frames"])
print("%-16s samples per 250 ms: %s" % (sys.argv[1], [c.get(i, 0) for i in range(16)]))
if sys.argv[1] != "python-only":
    print("%-16s   of them unknown: %s" % ("", [n.get(i, 0) for i in range(16)]))
PY
done
