package dev.spyglass.internal.export;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.function.Supplier;

import dev.spyglass.export.ExportOptions;
import dev.spyglass.export.Exporter;
import dev.spyglass.export.ProfileMetadata;
import dev.spyglass.export.ThreadGrouping;

/**
 * Options every built-in exporter shares, set one by one (tests, benchmarks) or from an {@link ExportOptions}
 * (the providers). An exporter writes to an {@link OutputStream} it owns and closes
 * in {@link Exporter#close()}.
 *
 * @param <B> the concrete builder
 * @param <E> the exporter it builds
 */
public abstract class ExporterBuilder<B extends ExporterBuilder<B, E>, E extends Exporter> {
    Supplier<ProfileMetadata> metadata = () -> ProfileMetadata.UNKNOWN;
    boolean includeIdle;
    boolean lineNumbers = true;
    ThreadGrouping threads = ThreadGrouping.PATTERN;

    ExporterBuilder() {
    }

    @SuppressWarnings("unchecked")
    private B self() {
        return (B) this;
    }

    /** Takes the metadata, idle and line-number choices of {@code options} (its properties are the provider's). */
    public B options(ExportOptions options) {
        Objects.requireNonNull(options, "options");
        return metadata(options.metadataSource()).includeIdle(options.includeIdle()).lineNumbers(options.lineNumbers())
                .threads(options.threads());
    }

    /**
     * Where the exporter gets the recording's metadata. It is asked when a header is written (streaming formats
     * ask before the first sample) and again at {@link Exporter#close()}, so a supplier reading live
     * statistics reports final figures. Default: {@link ProfileMetadata#UNKNOWN}.
     */
    public B metadata(Supplier<ProfileMetadata> metadata) {
        this.metadata = Objects.requireNonNull(metadata, "metadata");
        return self();
    }

    /** Fixed metadata; see {@link #metadata(Supplier)}. */
    public B metadata(ProfileMetadata metadata) {
        Objects.requireNonNull(metadata, "metadata");
        return metadata(() -> metadata);
    }

    /**
     * Whether samples of idle threads ({@link dev.spyglass.ThreadState#IDLE}) are kept. Aggregating formats
     * (collapsed, speedscope, pprof, HTML) drop them by default, like py-spy, so a flame graph shows where
     * threads run; the raw formats (Austin, JSON lines) always keep every sample and ignore this option.
     */
    public B includeIdle(boolean includeIdle) {
        this.includeIdle = includeIdle;
        return self();
    }

    /**
     * Whether frames are told apart by line ({@code true}, the default: {@code f (x.py:9)} and
     * {@code f (x.py:12)} are two frames) or only by function and file. Ignored by formats that always carry the
     * line (Austin, JSON lines).
     */
    public B lineNumbers(boolean lineNumbers) {
        this.lineNumbers = lineNumbers;
        return self();
    }

    /**
     * How the aggregating formats group threads under roots ({@link ThreadGrouping}); default
     * {@link ThreadGrouping#PATTERN}. Ignored by the streaming formats (Austin, JSON lines), which write each
     * sample's thread with the name it had when the sample was taken.
     */
    public B threads(ThreadGrouping threads) {
        this.threads = Objects.requireNonNull(threads, "threads");
        return self();
    }

    /** An exporter writing to {@code out}, which it closes on {@link Exporter#close()}. */
    public abstract E build(OutputStream out);

    /** An exporter writing to the file {@code path} (created or truncated now). */
    public E build(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        return build(new BufferedOutputStream(Files.newOutputStream(path), 1 << 16));
    }
}
