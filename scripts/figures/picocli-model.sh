#!/usr/bin/env bash
# CPU the CLI's main thread spends building picocli's command model (issue 16): the first `new CommandLine`
# (SpyglassCli, which also initialises picocli itself) and each subcommand's, each measured apart, and in
# another JVM a one-option command alone (picocli's own first use); with the
# launcher's flags and an AOT cache trained on this very probe. Needs a built CLI jar and JDK 25 (JAVA_HOME).
#
#   scripts/figures/picocli-model.sh [RUNS]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
jdk=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin
jar=${JAR:-$here/examples/target/spyglass-cli.jar}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/ModelProbe.java" <<'JAVA'
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.reflect.Constructor;
import java.util.Arrays;

public class ModelProbe {
    @picocli.CommandLine.Command(name = "trivial")
    static final class Trivial {
        @picocli.CommandLine.Option(names = "-x") boolean x;
    }

    public static void main(String[] args) throws Exception {
        var threads = ManagementFactory.getThreadMXBean();
        PrintStream nowhere = new PrintStream(OutputStream.nullOutputStream());
        StringBuilder line = new StringBuilder();
        if (args[0].equals("-trivial")) { // picocli's own first use: a command with one option, nothing else
            long before = threads.getCurrentThreadCpuTime();
            new picocli.CommandLine(new Trivial());
            System.out.printf("one-option command %.0f ms%n", (threads.getCurrentThreadCpuTime() - before) / 1e6);
            return;
        }
        for (String name : args) {
            Constructor<?> k = Class.forName("dev.spyglass.examples." + name).getDeclaredConstructors()[0];
            k.setAccessible(true);
            Object[] streams = new Object[k.getParameterCount()];
            Arrays.fill(streams, nowhere);
            Object command = k.newInstance(streams);
            long before = threads.getCurrentThreadCpuTime();
            new picocli.CommandLine(command);
            line.append(String.format("%s %.0f ms  ", name, (threads.getCurrentThreadCpuTime() - before) / 1e6));
        }
        System.out.println(line.toString().strip());
    }
}
JAVA
"$jdk/javac" -cp "$jar" -d "$work" "$work/ModelProbe.java"
(cd "$work" && "$jdk/jar" cf probe.jar ModelProbe*.class)
commands=(SpyglassCli DumpCommand RecordCommand ConvertCommand TopCommand AgentCommand LeaksCommand)
flags=(-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "$jar:$work/probe.jar")
"$jdk/java" "${flags[@]}" -XX:AOTCacheOutput="$work/probe.aot" -Xlog:aot=off -Xlog:cds=off ModelProbe \
  "${commands[@]}" >/dev/null 2>&1
"$jdk/java" "${flags[@]}" -XX:AOTCacheOutput="$work/trivial.aot" -Xlog:aot=off -Xlog:cds=off ModelProbe -trivial \
  >/dev/null 2>&1
for _ in $(seq "${1:-3}"); do
  "$jdk/java" "${flags[@]}" -XX:AOTCache="$work/probe.aot" -Xlog:aot=off -Xlog:cds=off ModelProbe "${commands[@]}"
  "$jdk/java" "${flags[@]}" -XX:AOTCache="$work/trivial.aot" -Xlog:aot=off -Xlog:cds=off ModelProbe -trivial
done
