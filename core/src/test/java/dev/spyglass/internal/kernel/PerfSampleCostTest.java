package dev.spyglass.internal.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Locale;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;


/**
 * The calibration of {@link PerfSampleCost} on this JVM's own thread, with the real events of each perf engine, and
 * with no event at all as the control: the cost must come from the sampled windows, not from the arithmetic.
 */
class PerfSampleCostTest {

    @Test
    void userStackSnapshotsCostTheThreadTime() throws Exception {
        Assumptions.assumeTrue(UserStackSamples.refusal() == null, () -> "perf events refused: " + UserStackSamples.refusal());
        PerfSampleCost.Result real;
        try (UserStackSamples s = new UserStackSamples(ProcessHandle.current().pid(), PerfSampleCost.PERIOD_NANOS, 16 * 1024)) {
            real = PerfSampleCost.run(new PerfSampleCost.TrackedEvents(s::track, () -> s.drain(Long.MAX_VALUE),
                    s::samplesTaken, () -> { }));
        }
        checkAgainstControl("16 KiB user stacks", real);
    }

    @Test
    void kernelCallchainsCostTheThreadTime() throws Exception {
        Assumptions.assumeTrue(KernelCallchains.refusal() == null, () -> "kernel sampling refused: " + KernelCallchains.refusal());
        PerfSampleCost.Result real;
        try (KernelCallchains k = new KernelCallchains(ProcessHandle.current().pid(), PerfSampleCost.PERIOD_NANOS)) {
            real = PerfSampleCost.run(new PerfSampleCost.TrackedEvents(k::track, k::drain, k::samplesTaken, () -> { }));
        }
        checkAgainstControl("kernel callchains", real);
    }

    /** The figure is calibrated once and kept; a call that may not calibrate gets it only once known. */
    @Test
    void calibratesOncePerKey() {
        int[] calibrations = new int[1];
        PerfSampleCost.Events none = new PerfSampleCost.Events() {
            @Override
            public void open(int tid) {
            }

            @Override
            public void stop() {
            }

            @Override
            public long samples() {
                return 0;
            }

            @Override
            public void close() {
                calibrations[0]++;
            }
        };
        assertThat(PerfSampleCost.of("test key", false, () -> none)).isSameAs(PerfSampleCost.PENDING);
        PerfSampleCost.Result first = PerfSampleCost.of("test key", true, () -> none);
        assertThat(first.estimate()).as("no sample in any window: no figure").isNull();
        assertThat(PerfSampleCost.of("test key", true, () -> none)).isSameAs(first);
        assertThat(PerfSampleCost.of("test key", false, () -> none)).isSameAs(first);
        assertThat(calibrations[0]).isEqualTo(1);
    }

    private static void checkAgainstControl(String what, PerfSampleCost.Result real) throws Exception {
        // The control: windows where no event is open, yet counted as if 16 samples had been taken in each.
        long[] fake = new long[1];
        PerfSampleCost.Result control = PerfSampleCost.run(new PerfSampleCost.Events() {
            @Override
            public void open(int tid) {
            }

            @Override
            public void stop() {
                fake[0] += 16;
            }

            @Override
            public long samples() {
                return fake[0];
            }

            @Override
            public void close() {
            }
        });
        String figures = String.format(Locale.ROOT, "%s: real %s; control %s; load %s", what, text(real), text(control),
                java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).trim());
        System.out.println(figures);
        // Skipped only for a starved machine; a calibration that found no sample fails.
        Assumptions.assumeFalse(real.starved() || control.starved(), figures);
        assertThat(real.estimate()).as(figures).isNotNull();
        assertThat(control.estimate()).as(figures).isNotNull();
        PerfSampleCost.Estimate e = real.estimate();
        assertThat(e.lowNanos()).as(figures).isPositive();
        assertThat(e.highNanos()).as(figures).isLessThan(2_000_000);
        assertThat(e.lowNanos()).as(figures).isLessThanOrEqualTo(e.medianNanos());
        assertThat(e.medianNanos()).as(figures).isLessThanOrEqualTo(e.highNanos());
        assertThat(control.estimate().medianNanos()).as("no events: within the noise of zero, below the real figure; "
                + figures).isLessThan(e.lowNanos());
        assertThat(e.tookNanos()).as(figures).isLessThan(PerfSampleCost.GIVE_UP_NANOS + 100_000_000L);
    }

    private static String text(PerfSampleCost.Result r) {
        PerfSampleCost.Estimate e = r.estimate();
        return e == null ? r.failure() : String.format(Locale.ROOT, "%.1f µs per sample (%.1f - %.1f), %d pairs, %d ms",
                e.medianNanos() / 1000, e.lowNanos() / 1000, e.highNanos() / 1000, e.pairs(), e.tookNanos() / 1_000_000);
    }
}
