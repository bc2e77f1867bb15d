package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.junit.jupiter.api.Assumptions;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * Memory mode (RSS changes on the GIL's holder) on a target that grows a list of 256 KiB strings in
 * {@code grow()} and empties it in {@code release()}, both at a known pace, then ends grown. glibc serves
 * such blocks with {@code mmap} and gives them back with {@code munmap} when the threshold is fixed
 * ({@code MALLOC_MMAP_THRESHOLD_}; left dynamic, glibc raises it after the first free and later blocks come from
 * the heap, whose release the kernel may never see), so the growth and the release both show in RSS at once.
 */
class MemoryModeTest {
    static final int CHUNK = 256 * 1024;
    static final int STEPS = 64;
    static final int CYCLES = 4;

    static final String SCRIPT = String.join("\n",
            "import os, sys, time",
            "CHUNK = " + CHUNK,
            "STEPS = " + STEPS,
            "def spin(seconds):",
            "    end = time.time() + seconds",
            "    while time.time() < end:",
            "        pass",
            "def grow(store):",
            "    for i in range(STEPS):",
            "        store.append('x' * CHUNK)  # writes every byte: its pages are resident at once",
            "        spin(0.004)",
            "def release(store):",
            "    while store:",
            "        store.pop()",
            "        spin(0.004)",
            "def settle():",
            "    spin(0.3)",
            "sys.stdout.write('ready %d\\n' % os.getpid()); sys.stdout.flush()",
            "sys.stdin.readline()",
            "store = []",
            "for c in range(" + CYCLES + "):",
            "    grow(store)",
            "    release(store)",
            "grow(store)",
            "settle()  # holds the GIL while the last changes are read",
            "open(sys.argv[1], 'w').close()",
            "while True:",
            "    time.sleep(1)",
            "");

    @ForEachPython
    void memoryModePutsGrowthOnTheGrowingFunctionAndReleaseOnTheFreeingOneOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Path script = PythonScripts.write("memorymode.py", SCRIPT);
        Path done = script.resolveSibling("done");
        ProcessBuilder b = py.processBuilder(script.toString(), done.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD);
        b.environment().put("MALLOC_MMAP_THRESHOLD_", "131072");
        try (PythonScripts.Running target = PythonScripts.awaitReady(py, b.start(), script)) {
            long before = vmRssBytes(target.pid());
            List<StackSample> samples = Collections.synchronizedList(new ArrayList<>());
            Sampler sampler = Sampler.builder().mode(SamplingMode.MEMORY).interval(Duration.ofMillis(5)).build();
            long after;
            try (SamplingSession s = sampler.attach(target.pid())) {
                Thread consumer = Thread.ofVirtual().start(() -> s.forEach(samples::add));
                Thread.sleep(200); // the first tick's reading is the baseline
                target.send("go");
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (!Files.exists(done) && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                Assumptions.assumeTrue(Files.exists(done), py.label() + ": target did not finish in 60 s (load?)");
                after = vmRssBytes(target.pid());
                s.stop();
                consumer.join(10_000);
                assertThat(s.failure()).isEmpty();
            }
            long growth = 0;
            long release = 0;
            long growthInGrow = 0;
            long releaseInRelease = 0;
            for (StackSample smp : samples) {
                List<Frame> f = smp.frames();
                boolean released = !f.isEmpty() && f.getLast().equals(Frame.MEMORY_RELEASED);
                if (released) {
                    release += smp.weightNanos();
                    releaseInRelease += has(f, "release") ? smp.weightNanos() : 0;
                } else {
                    growth += smp.weightNanos();
                    growthInGrow += has(f, "grow") ? smp.weightNanos() : 0;
                }
                assertThat(smp.weightNanos()).isPositive();
            }
            String figures = String.format("%s: %d samples, growth %d KiB (%d in grow), release %d KiB (%d in release),"
                    + " net %d KiB, VmRSS %d -> %d KiB (%+d)", py.label(), samples.size(), growth >> 10,
                    growthInGrow >> 10, release >> 10, releaseInRelease >> 10, (growth - release) >> 10, before >> 10,
                    after >> 10, (after - before) >> 10);
            System.out.println(figures);
            long phase = (long) STEPS * CHUNK;
            assertThat(release).as(figures).isGreaterThan(CYCLES * phase / 2);
            assertThat(growth).as(figures).isGreaterThan((CYCLES + 1) * phase / 2);
            assertThat(growthInGrow).as(figures).isGreaterThanOrEqualTo(growth * 8 / 10);
            assertThat(releaseInRelease).as(figures).isGreaterThanOrEqualTo(release * 8 / 10);
            // The weights add up to the change of RSS; the kernel's per-CPU counters may lag a little.
            assertThat(Math.abs((growth - release) - (after - before))).as(figures).isLessThanOrEqualTo(2L << 20);
        }
    }

    private static boolean has(List<Frame> frames, String function) {
        for (Frame f : frames) {
            if (f.function().equals(function)) {
                return true;
            }
        }
        return false;
    }

    /** VmRSS of /proc/PID/status, in bytes. */
    static long vmRssBytes(long pid) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.substring(6).trim().split("\\s+")[0]) * 1024;
            }
        }
        throw new AssertionError("no VmRSS for " + pid);
    }
}
