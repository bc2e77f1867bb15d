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
            "for c in range(int(sys.argv[1]) if len(sys.argv) > 1 else 3):",
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

    /**
     * {@code record --mode faults} of the same program: collapsed byte weights, mostly under {@code grow()} (the
     * only function that touches fresh memory), and the summary line of its snapshots. Needs perf events.
     */
    @Test
    void faultsModeWritesWhereMemoryIsFaultedIn() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(dev.spyglass.Sampler.pageFaultsRefusal().isEmpty(),
                () -> "page-fault sampling not permitted: " + dev.spyglass.Sampler.pageFaultsRefusal().orElse(""));
        PythonInterpreter py = SpyglassCliIT.someInterpreter();
        Path script = dir.resolve("mem.py");
        Files.writeString(script, SCRIPT);
        Map<String, String> env = new HashMap<>(py.environment());
        env.put("MALLOC_MMAP_THRESHOLD_", "131072");
        Path collapsed = dir.resolve("faults.collapsed");
        List<String> cmd = new ArrayList<>(SpyglassCliIT.cli("record", "--mode", "faults", "-i", "5ms", "-o",
                collapsed.toString(), "--"));
        // 12 cycles (about 3 s): the events are opened at the first tick, after the unwind tables are read.
        cmd.addAll(py.commandLine(script.toString(), "12"));
        SpyglassCliIT.Result r = SpyglassCliIT.run(cmd, env, 60);
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("native frames without stopping:");
        long total = 0;
        long inGrow = 0;
        for (String line : Files.readAllLines(collapsed)) {
            long bytes = Long.parseLong(line.substring(line.lastIndexOf(' ') + 1));
            assertThat(bytes % (64 * 4096)).as(line).isZero();
            total += bytes;
            inGrow += line.contains("grow (") ? bytes : 0;
        }
        assertThat(total).as("bytes faulted in").isGreaterThan(3L * 32 * 256 * 1024 / 2);
        assertThat(inGrow).as("bytes under grow of %d", total).isGreaterThan(total / 2);
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
