package dev.spyglass.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.spyglass.testsupport.PythonInterpreter;

/** {@link OneCpu}: at the shortest interval the command's JVM runs on one CPU, and one the target may leave. */
class OneCpuIT {
    @TempDir
    Path dir;

    @Test
    void choosesACpuTheTargetMayNotUseElseOneItIsNotOn() {
        BitSet ours = BitSet.valueOf(new long[] {0b1111});
        assertThat(OneCpu.choose(ours, BitSet.valueOf(new long[] {0b0111}), 1)).isEqualTo(3);
        assertThat(OneCpu.choose(ours, BitSet.valueOf(new long[] {0b1111}), 3)).isEqualTo(2);
        assertThat(OneCpu.choose(ours, BitSet.valueOf(new long[] {0b1111}), 1)).isEqualTo(3);
        assertThat(OneCpu.choose(BitSet.valueOf(new long[] {0b0100}), BitSet.valueOf(new long[] {0b0100}), 2))
                .isEqualTo(2);
    }

    @Test
    void atTheShortestIntervalEveryThreadOfTheCommandRunsOnOneCpu() throws Exception {
        Assumptions.assumeTrue(Runtime.getRuntime().availableProcessors() > 1, "one CPU: nothing to pin");
        PythonInterpreter py = SpyglassCliIT.someInterpreter();
        Path script = dir.resolve("busy.py");
        Files.writeString(script, String.join("\n", "import time", "end = time.time() + 60",
                "while time.time() < end:", "    pass", ""));
        Process target = py.processBuilder(script.toString()).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        Process cli = null;
        try {
            Thread.sleep(400);
            List<String> cmd = SpyglassCliIT.cli("record", "-p", Long.toString(target.pid()), "-i", "1us", "-d", "8s",
                    "-o", dir.resolve("out.collapsed").toString());
            cli = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(dir.resolve("err.txt").toFile()).start();
            // Pinned once attached, after the JVM's start and its second of looks before the clock: seconds on a
            // loaded machine. Read until every thread shows one CPU, or the run ends.
            List<String> allowed = new ArrayList<>();
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (cli.isAlive() && System.nanoTime() < deadline) {
                allowed.clear();
                try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(cli.pid()), "task"))) {
                    for (Path t : (Iterable<Path>) tasks::iterator) {
                        Files.readAllLines(t.resolve("status")).stream()
                                .filter(l -> l.startsWith("Cpus_allowed_list:"))
                                .forEach(l -> allowed.add(l.substring(l.indexOf(':') + 1).trim()));
                    }
                } catch (java.io.IOException | java.io.UncheckedIOException e) {
                    continue; // a thread ended while listed
                }
                if (!allowed.isEmpty() && allowed.stream().allMatch(a -> a.matches("[0-9]+"))) {
                    break;
                }
                Thread.sleep(100);
            }
            assertThat(cli.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(cli.exitValue()).as(Files.readString(dir.resolve("err.txt"))).isZero();
            assertThat(new TreeSet<>(allowed)).as("each thread's CPUs: %s", allowed).hasSize(1);
            assertThat(allowed.get(0)).matches("[0-9]+");
        } finally {
            if (cli != null) {
                cli.destroyForcibly();
            }
            target.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }
}
