#!/usr/bin/env bash
# Torn share and sampler CPU per sample with and without the retry of torn reads, interleaved on one machine.
# Targets: the C-extension qsort callback of CalledBackFromCTest (a Python function called back from C) and
# recursion_race.py (60-deep pure-Python recursion). Per interpreter, target and round, each jar runs
# `record -i 200us -d 5s -p PID` against its own fresh target.
# Usage: [ROUNDS=2] [INTERVAL=200us] [RECORD_ARGS=--native=nonstop] torn-retry.sh PYTHON... -- NAME=JAR...
#   scripts/figures/torn-retry.sh ~/.pyenv/versions/3.12.1/bin/python3 -- before=/tmp/before.jar after=examples/target/spyglass-cli.jar
# Columns: samples, torn % (summary line), first reads torn % and recovered (after only), short samples (lacking
# py_caller, or <module>: stale reads that passed the checks), CPU µs per sample:
# the sampler's user+sys from /proc/PID/stat over [1.5 s, 4.5 s] of the run divided by the samples in that window
# (the run's samples per second times 3 s).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
rounds=${ROUNDS:-2}
java=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java
hz=$(getconf CLK_TCK)
pythons=()
while [[ $# -gt 0 && $1 != -- ]]; do pythons+=("$1"); shift; done
shift
tmp=$(mktemp -d)
pid="" sampler=""
trap 'kill $pid $sampler 2>/dev/null; rm -rf "$tmp"' EXIT # no target left running when stopped early
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo -1; }
cat > "$tmp/called_back_sort.py" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import spyglass_native_demo
def py_compare(a, b):
    x = 0
    for i in range(20):
        x += i * i
    return a - b
def py_caller():
    while True:
        spyglass_native_demo.ext_sort(list(range(200, 0, -1)), py_compare)
py_caller()
PY
printf '%-14s %-9s %-7s %8s %8s %12s %12s %6s %10s\n' python target sampler samples 'torn %' 'first torn %' recovered short 'CPU µs/sample'
for py in "${pythons[@]}"; do
  v=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  ext="$tmp/ext-$v"; mkdir -p "$ext"
  inc=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
  suf=$("$py" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
  gcc -shared -fPIC -O1 -fno-omit-frame-pointer -g -I"$inc" -idirafter "$(dirname "$inc")" \
    -o "$ext/spyglass_native_demo$suf" "$repo/test-support/resources/dev/spyglass/testsupport/spyglass_native_demo.c"
  for target in callback recursion; do
    for ((r = 0; r < rounds; r++)); do
      for spec in "$@"; do
        name=${spec%%=*} jar=${spec#*=}
        if [[ $target == callback ]]; then
          "$py" "$tmp/called_back_sort.py" "$ext" & pid=$!
        else
          "$py" "$here/recursion_race.py" 30 & pid=$!
        fi
        sleep 1
        "$java" --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -jar "$jar" record -p "$pid" -i "${INTERVAL:-200us}" -d 5s ${RECORD_ARGS:-} \
          -o "$tmp/out.collapsed" >"$tmp/log" 2>&1 & sampler=$!
        sleep 1.5; c0=$(cpu_ticks $sampler); sleep 3; c1=$(cpu_ticks $sampler)
        wait $sampler || true
        kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
        line=$(grep 'samples in' "$tmp/log" || echo "spyglass: 0 samples in 5 s (no summary)")
        samples=$(sed -E 's/^spyglass: ([0-9,]+) samples.*/\1/' <<<"$line" | tr -d ,)
        torn=$(grep -oE 'torn [0-9.]+%' <<<"$line" | tr -dc '0-9.')
        first=$(grep -oE 'first reads [0-9.]+%' <<<"$line" | tr -dc '0-9.' || true)
        rec=$(grep -oE '[0-9,]+ of [0-9,]+ recovered' <<<"$line" | sed 's/ recovered//' || true)
        # Short: samples without the target's outer frames (py_caller, or <module>), which a torn read let through.
        outer=$([[ $target == callback ]] && echo py_caller || echo '<module>')
        short=$(awk -v o="$outer" 'index($0, o) == 0 { n += $NF } END { print n + 0 }' "$tmp/out.collapsed" 2>/dev/null || echo -)
        awk -v p="$(basename "$(dirname "$(dirname "$py")")")-$v" -v t="$target" -v n="$name" -v s="$samples" \
          -v torn="$torn" -v f="${first:--}" -v rec="${rec:--}" -v short="$short" -v c=$((c1 - c0)) -v hz="$hz" \
          'BEGIN { persec = s / 5; cpu = c / hz
                   printf "%-14s %-9s %-7s %8d %8s %12s %12s %6s %10.1f\n", p, t, n, s, torn, f, rec, short,
                     (persec > 0 ? cpu * 1e6 / (persec * 3) : 0) }'
      done
    done
  done
done
