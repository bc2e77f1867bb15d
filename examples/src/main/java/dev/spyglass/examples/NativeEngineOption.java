package dev.spyglass.examples;

import java.util.Locale;

import dev.spyglass.Sampler;

/**
 * The value of {@code --native[=brief-stop|nonstop]} of record, dump and top: which native engine merges
 * native frames. Alone, {@code --native} means {@code brief-stop} (picocli's fallback value). picocli takes
 * the next word for the value when it is not an option, so {@code --native python3 app.py} is a usage error
 * (saying that a command goes after {@code --}); {@code --native -- python3 app.py} is the brief-stop engine.
 */
final class NativeEngineOption {
    static final String DESCRIPTION = "brief-stop (the default: stops each Python thread for microseconds per "
            + "sample, ptrace) or nonstop (never stops a thread: kernel snapshots, spliced only when tied to the "
            + "Python stack's read, else <native frames unknown>; needs root or CAP_PERFMON).";

    private NativeEngineOption() {
    }

    /** picocli's converter: {@code brief-stop} or {@code nonstop} (case-insensitive). */
    static final class Converter implements picocli.CommandLine.ITypeConverter<Sampler.NativeEngine> {
        @Override
        public Sampler.NativeEngine convert(String value) {
            return switch (value.toLowerCase(Locale.ROOT)) {
                case "brief-stop" -> Sampler.NativeEngine.BRIEF_STOP;
                case "nonstop", "non-stop" -> Sampler.NativeEngine.NON_STOP;
                default -> throw new picocli.CommandLine.TypeConversionException(
                        "--native must be brief-stop or nonstop, not '" + value + "' (a command goes after --)");
            };
        }
    }

    /**
     * {@code spyglass: native frames without stopping: 1,234 spliced, 56 unspliced (Python stack moved), 0 lost}:
     * what the non-stop engine could merge, said in the summary.
     */
    static String snapshotsLine(dev.spyglass.SamplingStats.NativeSnapshots n) {
        return String.format(Locale.ROOT,
                "spyglass: native frames without stopping: %,d spliced, %,d unspliced (Python stack moved), %,d lost",
                n.spliced(), n.unspliced(), n.lost());
    }

    /**
     * The summary's lines of what each engine took from the target: the brief-stop engine's measured stops, the
     * non-stop engine's merges, then per perf engine its samples and their estimated time, e.g.
     * {@code spyglass: native frames without stopping: 1,234 snapshots took ~42 µs of the target's time each
     * (estimated by calibration, quartiles 32 – 57 µs): ~52 ms in all}.
     */
    static java.util.List<String> costLines(dev.spyglass.SamplingStats s) {
        java.util.List<String> lines = new java.util.ArrayList<>();
        if (s.threadStops().stops() > 0) {
            lines.add(LiveStatus.stopsLine(s.threadStops()));
        }
        if (!s.nativeSnapshots().equals(dev.spyglass.SamplingStats.NativeSnapshots.NONE)) {
            lines.add(snapshotsLine(s.nativeSnapshots()));
        }
        for (dev.spyglass.SamplingStats.PerfCost c : s.perfCosts()) {
            lines.add(costLine(c));
        }
        return lines;
    }

    static String costLine(dev.spyglass.SamplingStats.PerfCost c) {
        String what = c.engine() == dev.spyglass.SamplingStats.PerfCost.Engine.NON_STOP_NATIVE
                ? "native frames without stopping: %,d snapshots" : "kernel frames: %,d samples";
        String head = "spyglass: " + String.format(Locale.ROOT, what, c.samples());
        if (c.calibration().isEmpty()) {
            return head + "; their cost to the target is not estimated (" + c.uncalibrated() + ")";
        }
        var k = c.calibration().get();
        return head + String.format(Locale.ROOT,
                " took ~%s of the target's time each (estimated by calibration, quartiles %s – %s): ~%s in all",
                micros(k.perSample()), micros(k.lowQuartile()), micros(k.highQuartile()),
                Durations.format(c.estimatedTotal().orElseThrow()));
    }

    private static String micros(java.time.Duration d) {
        return String.format(Locale.ROOT, "%.0f µs", d.toNanos() / 1000.0);
    }
}
