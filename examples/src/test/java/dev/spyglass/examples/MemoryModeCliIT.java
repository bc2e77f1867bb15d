package dev.spyglass.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.spyglass.testsupport.PythonInterpreter;

/**
 * {@code record --mode memory} of a launched program that grows a list of 256 KiB strings in {@code grow()} and
 * empties it in {@code release()}: Austin's memory format (signed byte metrics) and collapsed byte weights.
 */
class MemoryModeCliIT {
    static final String SCRIPT = String.join("\n",
            "import sys, time",
            "def spin(seconds):",
            "    end = time.time() + seconds",
            "    while time.time() < end:",
            "        pass",
            "def grow(store):",
            "    for i in range(32):",
            "        store.append('x' * (256 * 1024))",
            "        spin(0.004)",
            "def release(store):",
            "    while store:",
            "        store.pop()",
            "        spin(0.004)",
            "store = []",
            "for c in range(3):",
            "    grow(store)",
            "    release(store)",
            "");

    @TempDir
    Path dir;

    @Test
    void memoryModeWritesGrowthAndReleaseInBytes() throws Exception {
        PythonInterpreter py = SpyglassCliIT.someInterpreter();
        Path script = dir.resolve("mem.py");
        Files.writeString(script, SCRIPT);
        // glibc's fixed mmap threshold: each 256 KiB string is mapped and unmapped, so RSS follows the list.
        Map<String, String> env = new HashMap<>(py.environment());
        env.put("MALLOC_MMAP_THRESHOLD_", "131072");

        Path austin = dir.resolve("mem.austin");
        List<String> cmd = new ArrayList<>(SpyglassCliIT.cli("record", "--mode", "memory", "-i", "5ms", "-o",
                austin.toString(), "--"));
        cmd.addAll(py.commandLine(script.toString()));
        SpyglassCliIT.Result r = SpyglassCliIT.run(cmd, env, 60);
        assertThat(r.exit()).as(r.err()).isZero();
        String text = Files.readString(austin);
        assertThat(text).contains("# mode: memory");
        long grown = metricSum(text, ":grow:", true);
        long released = -metricSum(text, ":release:", false);
        assertThat(grown).as(text).isGreaterThan(3L * 32 * 256 * 1024 / 2);
        assertThat(released).as(text).isGreaterThan(3L * 32 * 256 * 1024 / 2);
        assertThat(text).doesNotContain("<memory released>");

        Path collapsed = dir.resolve("mem.collapsed");
        cmd = new ArrayList<>(SpyglassCliIT.cli("record", "--mode", "memory", "-i", "5ms", "-o", collapsed.toString(),
                "--"));
        cmd.addAll(py.commandLine(script.toString()));
        r = SpyglassCliIT.run(cmd, env, 60);
        assertThat(r.exit()).as(r.err()).isZero();
        long growLines = 0;
        long releaseLines = 0;
        for (String line : Files.readAllLines(collapsed)) {
            long bytes = Long.parseLong(line.substring(line.lastIndexOf(' ') + 1));
            if (line.contains(";<memory released>;") && line.contains("release (")) {
                releaseLines += bytes;
            } else if (line.contains("grow (")) {
                growLines += bytes;
            }
        }
        assertThat(growLines).as("bytes under grow").isGreaterThan(3L * 32 * 256 * 1024 / 2);
        assertThat(releaseLines).as("bytes under <memory released> and release").isGreaterThan(3L * 32 * 256 * 1024 / 2);
    }

    /** The sum of the metrics of sample lines containing {@code marker} whose sign is {@code positive}. */
    private static long metricSum(String austin, String marker, boolean positive) {
        long sum = 0;
        for (String line : austin.split("\n")) {
            if (line.startsWith("P") && line.contains(marker)) {
                long m = Long.parseLong(line.substring(line.lastIndexOf(' ') + 1));
                if (positive == m > 0) {
                    sum += m;
                }
            }
        }
        return sum;
    }
}
