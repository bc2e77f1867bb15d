package dev.spyglass.export;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What a profile file says about how it was recorded: the summary header of the HTML flame graph, Austin's
 * metadata lines, pprof's time and period. Every component may be unknown; exporters write only what is
 * known, so an exporter given {@link #UNKNOWN} still produces a valid file.
 *
 * @param command         the profiled command line, or an empty list when unknown (e.g. attached by PID)
 * @param pid             the target's process id, or -1 when unknown
 * @param pythonVersion   the target's Python version (e.g. {@code 3.12.1}), or an empty string when unknown
 * @param mode            {@code "wall"}, {@code "cpu"}, {@code "gil"}, {@code "memory"} or {@code "page_faults"}
 *                        (the last two: sample weights are bytes), or an empty string when unknown
 * @param interval        the requested sampling interval, or {@link Duration#ZERO} when unknown
 * @param startEpochNanos when sampling started, nanoseconds since the Unix epoch, or 0 when unknown
 * @param duration        how long sampling ran, or {@link Duration#ZERO} when unknown
 * @param samples         stack samples delivered, or -1 when unknown
 * @param tornSamples     samples dropped because the target changed while being read, or -1 when unknown
 * @param droppedSamples  samples dropped because the consumer was too slow, or -1 when unknown
 * @param achievedRate    sampling ticks per second actually achieved, or {@code NaN} when unknown
 * @param container       the short (12-character) id of the container the target runs in
 *                        ({@link dev.spyglass.PythonProcess#container()}), or an empty string when it runs in none
 *                        or that is unknown
 */
public record ProfileMetadata(List<String> command, long pid, String pythonVersion, String mode, Duration interval,
        long startEpochNanos, Duration duration, long samples, long tornSamples, long droppedSamples,
        double achievedRate, String container) {

    /** Nothing known. */
    public static final ProfileMetadata UNKNOWN = builder().build();

    public ProfileMetadata {
        command = List.copyOf(Objects.requireNonNull(command, "command"));
        Objects.requireNonNull(pythonVersion, "pythonVersion");
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(interval, "interval");
        Objects.requireNonNull(duration, "duration");
        Objects.requireNonNull(container, "container");
    }

    /** A builder with every component unknown. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from this metadata's values. */
    public Builder toBuilder() {
        return new Builder().command(command).pid(pid).pythonVersion(pythonVersion).mode(mode).interval(interval)
                .startEpochNanos(startEpochNanos).duration(duration).samples(samples).tornSamples(tornSamples)
                .droppedSamples(droppedSamples).achievedRate(achievedRate).container(container);
    }

    /**
     * The share of read attempts that were torn: {@code torn / (samples + torn)}, in [0, 1], or {@code NaN} when
     * either count is unknown or nothing was read.
     */
    public double tornRate() {
        if (samples < 0 || tornSamples < 0 || samples + tornSamples == 0) {
            return Double.NaN;
        }
        return (double) tornSamples / (samples + tornSamples);
    }

    /** The command joined with spaces, arguments holding blanks quoted; empty when unknown. */
    public String commandLine() {
        StringBuilder sb = new StringBuilder();
        for (String arg : command) {
            if (!sb.isEmpty()) {
                sb.append(' ');
            }
            boolean quote = arg.isEmpty() || arg.chars().anyMatch(c -> Character.isWhitespace(c) || c == '\'');
            sb.append(quote ? "'" + arg.replace("'", "'\\''") + "'" : arg);
        }
        return sb.toString();
    }

    /** Builds {@link ProfileMetadata}; every setter's absent value is the one documented on the record. */
    public static final class Builder {
        private List<String> command = List.of();
        private long pid = -1;
        private String pythonVersion = "";
        private String mode = "";
        private Duration interval = Duration.ZERO;
        private long startEpochNanos;
        private Duration duration = Duration.ZERO;
        private long samples = -1;
        private long tornSamples = -1;
        private long droppedSamples = -1;
        private double achievedRate = Double.NaN;
        private String container = "";

        private Builder() {
        }

        public Builder command(List<String> command) {
            this.command = List.copyOf(command);
            return this;
        }

        public Builder pid(long pid) {
            this.pid = pid;
            return this;
        }

        public Builder pythonVersion(String pythonVersion) {
            this.pythonVersion = Objects.requireNonNull(pythonVersion, "pythonVersion");
            return this;
        }

        public Builder mode(String mode) {
            this.mode = Objects.requireNonNull(mode, "mode");
            return this;
        }

        public Builder interval(Duration interval) {
            this.interval = Objects.requireNonNull(interval, "interval");
            return this;
        }

        public Builder startEpochNanos(long startEpochNanos) {
            this.startEpochNanos = startEpochNanos;
            return this;
        }

        public Builder duration(Duration duration) {
            this.duration = Objects.requireNonNull(duration, "duration");
            return this;
        }

        public Builder samples(long samples) {
            this.samples = samples;
            return this;
        }

        public Builder tornSamples(long tornSamples) {
            this.tornSamples = tornSamples;
            return this;
        }

        public Builder droppedSamples(long droppedSamples) {
            this.droppedSamples = droppedSamples;
            return this;
        }

        public Builder achievedRate(double achievedRate) {
            this.achievedRate = achievedRate;
            return this;
        }

        /** The short id of the target's container; empty when none. */
        public Builder container(String container) {
            this.container = Objects.requireNonNull(container, "container");
            return this;
        }

        public ProfileMetadata build() {
            return new ProfileMetadata(command, pid, pythonVersion, mode, interval, startEpochNanos, duration, samples,
                    tornSamples, droppedSamples, achievedRate, container);
        }
    }
}
