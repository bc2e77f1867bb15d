package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;

import org.junit.jupiter.api.Test;

/** The builder's native engine choice and what the API says of the no-stop engine's samples and counts. */
class NativeEngineChoiceTest {

    @Test
    void theBriefStopEngineIsTheDefaultAndNullIsRefused() {
        assertThat(Sampler.builder().build().nativeEngine()).isEqualTo(Sampler.NativeEngine.BRIEF_STOP);
        assertThat(Sampler.builder().nativeFrames(true).nativeEngine(Sampler.NativeEngine.NON_STOP).build()
                .nativeEngine()).isEqualTo(Sampler.NativeEngine.NON_STOP);
        assertThatThrownBy(() -> Sampler.builder().nativeEngine(null)).isInstanceOf(NullPointerException.class)
                .hasMessageContaining("nativeEngine");
    }

    @Test
    void allThreadsWithTheNonStopEngineIsRefusedInEitherOrder() {
        assertThatThrownBy(() -> Sampler.builder().nativeFramesOfAllThreads(true)
                .nativeEngine(Sampler.NativeEngine.NON_STOP).build()).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("BRIEF_STOP");
        assertThatThrownBy(() -> Sampler.builder().nativeEngine(Sampler.NativeEngine.NON_STOP)
                .nativeFramesOfAllThreads(true).build()).isInstanceOf(IllegalStateException.class);
        assertThat(Sampler.builder().nativeFramesOfAllThreads(true).build().nativeFramesOfAllThreads()).isTrue();
    }

    @Test
    void statsWithoutTheNonStopEngineHaveNoSnapshots() {
        SamplingStats s = new SamplingStats(1, 0, 0, 1, Duration.ofSeconds(1), 1, Duration.ZERO, 0,
                Duration.ofMillis(10), SamplingStats.ThreadStops.NONE);
        assertThat(s.nativeSnapshots()).isEqualTo(SamplingStats.NativeSnapshots.NONE);
        assertThatThrownBy(() -> new SamplingStats(1, 0, 0, 1, Duration.ofSeconds(1), 1, Duration.ZERO, 0,
                Duration.ofMillis(10), SamplingStats.ThreadStops.NONE, null)).isInstanceOf(NullPointerException.class);
        assertThat(s.perfCosts()).isEmpty();
        assertThat(s.perfCost(SamplingStats.PerfCost.Engine.NON_STOP_NATIVE)).isEmpty();
    }

    /** A perf engine's estimated total is its samples times the median per sample; none without a calibration. */
    @Test
    void perfCostsTotalTheirSamples() {
        var k = new SamplingStats.PerfCost.Calibration(Duration.ofNanos(52_000), Duration.ofNanos(43_000),
                Duration.ofNanos(61_000), 23, Duration.ofMillis(325));
        var c = new SamplingStats.PerfCost(SamplingStats.PerfCost.Engine.KERNEL_FRAMES, 1_000, java.util.Optional.of(k), "");
        assertThat(c.estimatedTotal()).contains(Duration.ofMillis(52));
        var none = new SamplingStats.PerfCost(SamplingStats.PerfCost.Engine.KERNEL_FRAMES, 1_000,
                java.util.Optional.empty(), "calibrated once the session has ended");
        assertThat(none.estimatedTotal()).isEmpty();
        SamplingStats s = new SamplingStats(1, 0, 0, 1, Duration.ofSeconds(1), 1, Duration.ZERO, 0,
                Duration.ofMillis(10), SamplingStats.ThreadStops.NONE, SamplingStats.NativeSnapshots.NONE,
                SamplingStats.TornReads.NONE, java.util.List.of(c));
        assertThat(s.perfCost(SamplingStats.PerfCost.Engine.KERNEL_FRAMES)).contains(c);
        assertThat(s.perfCost(SamplingStats.PerfCost.Engine.NON_STOP_NATIVE)).isEmpty();
        assertThatThrownBy(() -> new SamplingStats.PerfCost(SamplingStats.PerfCost.Engine.KERNEL_FRAMES, 1, null, ""))
                .isInstanceOf(NullPointerException.class);
    }

    @Test
    void theUnknownNativeFramesLabelIsAPseudoFrame() {
        Frame f = Frame.NATIVE_FRAMES_UNKNOWN;
        assertThat(f.kind()).isEqualTo(Frame.FrameKind.PSEUDO);
        assertThat(f.toString()).isEqualTo("<native frames unknown>");
        assertThat(f.file()).isEmpty();
        assertThat(f.line()).isZero();
        assertThat(f).isNotEqualTo(Frame.INTERPRETER_SHUTDOWN);
    }
}
