#!/bin/bash
# Stacks of one thread that show the other thread's root function (CPython 2.7 - 3.10: frame objects reused across
# threads, docs/architecture.md "Reading without stopping the target"): one `record` per JAR of frame_reuse.py,
# collapsed per thread name, and the count of thread X's stacks (X in A - D) through another root_ function, with the
# recording's summary line (samples, ticks/s, torn share and retries); and the count of stacks of A - D without their
# own root though in shared() (ended early: a frame freed while read; a starting thread is not in shared() yet).
# Usage: [SECONDS_PER_RUN=10] [INTERVAL=100us] [PY=python3.9] scripts/figures/frame-reuse.sh JAR...
S=${SECONDS_PER_RUN:-10}; IV=${INTERVAL:-100us}
PY=${PY:-/root/.pyenv/versions/3.9.18/bin/python3}; J=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin
set -u; tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for jar in "$@"; do
  $J/java --enable-native-access=ALL-UNNAMED -jar "$jar" record -i "$IV" -d "${S}s" --threads=name -f collapsed \
    -o $tmp/out.collapsed -- "$PY" "$(dirname "$0")/frame_reuse.py" > $tmp/log 2>&1
  echo "$jar (load average $(cut -d' ' -f1-3 /proc/loadavg)):"
  grep -o '[0-9,]* samples in .*dropped [0-9]*)' $tmp/log
  awk '/\([ABCD]\)/ { n += $NF; match($0, /\([ABCD]\)/); own = "root_" tolower(substr($0, RSTART + 1, 1))
         if (match($0, /root_[a-d][; ]/) && substr($0, RSTART, 6) != own) x += $NF
         if (index($0, "shared") && !index($0, own ";") && !index($0, own " ")) short += $NF }
       END { printf "stacks of A - D: %d, with another thread'"'"'s root: %d, without their own: %d\n", n, x, short }' \
    $tmp/out.collapsed
done
