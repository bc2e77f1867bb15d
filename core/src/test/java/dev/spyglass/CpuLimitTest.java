package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

import dev.spyglass.internal.os.ProcessCpuClock;
import dev.spyglass.testsupport.PythonInterpreter;
import dev.spyglass.testsupport.PythonInterpreters;

/**
 * {@link Sampler.Builder#cpuLimit}: at the shortest interval a sampling thread looks back to back and fills a core by
 * itself; with a limit the whole JVM stays within it (issue 16: the command line within one core at any rate).
 * Isolated: the limit counts the whole JVM, and so does the test's figure, so no other test may run beside it.
 */
@Isolated
class CpuLimitTest {

    /** One thread 30 frames deep, busy at the bottom: every look reads a changing stack. */
    private static final String BUSY_DEEP = String.join("\n",
            "import sys",
            "def down(n):",
            "    if n > 1:",
            "        return down(n - 1)",
            "    sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "    x = 0",
            "    while True:",
            "        x += 1",
            "down(30)",
            "");

    @Test
    void atTheShortestIntervalTheWholeProcessStaysWithinItsLimit() throws Exception {
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 12);
        ProcessCpuClock clock = ProcessCpuClock.open();
        org.junit.jupiter.api.Assumptions.assumeTrue(clock != null, "no process CPU clock on this platform");
        Path script = PythonScripts.write("busy_deep.py", BUSY_DEEP);
        double limit = 0.4;
        try (PythonScripts.Running target = PythonScripts.start(py, script);
                SamplingSession s = Sampler.builder().interval(Duration.ofNanos(10_000)).cpuLimit(limit)
                        .duration(Duration.ofSeconds(2)).build().attach(target.pid())) {
            // attach() returns after its second of looks before the clock, which the limit does not cover.
            long cpu0 = clock.nanos();
            long wall0 = System.nanoTime();
            AtomicLong taken = new AtomicLong();
            s.forEach(sample -> taken.incrementAndGet());
            double cores = (clock.nanos() - cpu0) / (double) (System.nanoTime() - wall0);
            SamplingStats st = s.stats();
            System.out.printf("cpuLimit %.1f: the JVM used %.2f cores; %s%n", limit, cores, st);
            // Without the limit about one core here (or what a loaded machine leaves), 0.40 with it; the margin is
            // the test's own threads and one check's worth of CPU at the end.
            assertThat(cores).as("%s", st).isLessThan(limit + 0.12);
            assertThat(st.skippedTicks()).as("ticks in the waits are skipped, %s", st).isPositive();
            long planned = st.elapsed().toNanos() / 10_000;
            assertThat(st.ticks() + st.skippedTicks()).as("%s", st).isBetween(planned - 1, planned + 1);
            assertThat(taken.get()).isPositive();
        }
    }

    @Test
    void theLimitIsValidated() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Sampler.builder().cpuLimit(-1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cpuLimit");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Sampler.builder().cpuLimit(Double.NaN))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(Sampler.builder().build().cpuLimit()).isZero();
        assertThat(Sampler.builder().cpuLimit(1).build().cpuLimit()).isEqualTo(1.0);
    }
}
