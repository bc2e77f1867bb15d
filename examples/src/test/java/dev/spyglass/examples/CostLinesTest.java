package dev.spyglass.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import dev.spyglass.SamplingStats;

/** The lines of record's summary that say what each engine took from the target. */
class CostLinesTest {

    @Test
    void eachPerfEngineHasOneLineCalibratedOrSayingWhyNot() {
        var k = new SamplingStats.PerfCost.Calibration(Duration.ofNanos(61_452), Duration.ofNanos(48_115),
                Duration.ofNanos(65_024), 21, Duration.ofMillis(345));
        var nonStop = new SamplingStats.PerfCost(SamplingStats.PerfCost.Engine.NON_STOP_NATIVE, 1_676, Optional.of(k), "");
        var kernel = new SamplingStats.PerfCost(SamplingStats.PerfCost.Engine.KERNEL_FRAMES, 159, Optional.empty(),
                "not calibrated: 3 usable window pairs of 24 in 2001 ms (the machine starved the calibration)");
        SamplingStats s = new SamplingStats(1, 0, 0, 1, Duration.ofSeconds(1), 1, Duration.ZERO, 0,
                Duration.ofMillis(10), SamplingStats.ThreadStops.NONE, new SamplingStats.NativeSnapshots(5, 1, 0),
                SamplingStats.TornReads.NONE, List.of(nonStop, kernel));
        assertThat(NativeEngineOption.costLines(s)).containsExactly(
                "spyglass: native frames without stopping: 5 spliced, 1 unspliced (Python stack moved), 0 lost",
                "spyglass: native frames without stopping: 1,676 snapshots took ~61 µs of the target's time each"
                        + " (estimated by calibration, quartiles 48 µs – 65 µs): ~103.0 ms in all",
                "spyglass: kernel frames: 159 samples; their cost to the target is not estimated (not calibrated: 3"
                        + " usable window pairs of 24 in 2001 ms (the machine starved the calibration))");
        SamplingStats none = new SamplingStats(1, 0, 0, 1, Duration.ofSeconds(1), 1, Duration.ZERO, 0,
                Duration.ofMillis(10));
        assertThat(NativeEngineOption.costLines(none)).isEmpty();
    }
}
