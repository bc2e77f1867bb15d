#!/usr/bin/env bash
# Runs a module's JMH benchmarks (in MODULE/src/jmh/java, compiled with its tests).
#   scripts/jmh.sh elf                      # all benchmarks of the elf module
#   scripts/jmh.sh core SampleBenchmark -prof gc -f 1 -wi 3 -i 5
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
module=${1:?usage: scripts/jmh.sh MODULE [JMH ARGS...]}
shift
if [ -z "${JAVA_HOME:-}" ] || ! "$JAVA_HOME/bin/java" -version 2>&1 | grep -qE 'version "(2[2-9]|[3-9][0-9])'; then
  JAVA_HOME=$("$here/spyglass" --print-java-home)
fi
export JAVA_HOME
cd "$here"
./mvnw -B -q --no-transfer-progress -pl "$module" -am install -DskipTests
cp_file=$(mktemp)
./mvnw -B -q --no-transfer-progress -pl "$module" dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile="$cp_file" >/dev/null
cp="$here/$module/target/test-classes:$here/$module/target/classes:$(cat "$cp_file")"
rm -f "$cp_file"
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$cp" org.openjdk.jmh.Main \
  -jvmArgsAppend --enable-native-access=ALL-UNNAMED "$@"
