package dev.spyglass.internal.export;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.function.Supplier;

import dev.spyglass.StackSample;
import dev.spyglass.ThreadState;
import dev.spyglass.export.Exporter;
import dev.spyglass.export.ProfileMetadata;

/** Lifecycle shared by the built-in exporters: one output stream, accept until closed, close once. */
abstract class StreamExporter implements Exporter {
    final OutputStream out;
    final Supplier<ProfileMetadata> metadata;
    final boolean includeIdle;
    final boolean lineNumbers;
    private final String formatName;
    private boolean closed;

    StreamExporter(OutputStream out, String formatName, ExporterBuilder<?, ?> options) {
        this.out = Objects.requireNonNull(out, "out");
        this.formatName = Objects.requireNonNull(formatName, "formatName");
        this.metadata = options.metadata;
        this.includeIdle = options.includeIdle;
        this.lineNumbers = options.lineNumbers;
    }

    @Override
    public final String formatName() {
        return formatName;
    }

    /** A buffered UTF-8 writer over {@code out}, for the text formats. */
    static Writer utf8Writer(OutputStream out) {
        return new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), 1 << 16);
    }

    @Override
    public final void accept(StackSample sample) {
        Objects.requireNonNull(sample, "sample");
        if (closed) {
            throw new IllegalStateException(formatName() + " exporter is closed");
        }
        try {
            write(sample);
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + formatName() + " output failed: " + e.getMessage(), e);
        }
    }

    /** Whether an aggregating format keeps this sample: it has frames and is not idle unless asked. */
    final boolean keepsForAggregate(StackSample sample) {
        return !sample.frames().isEmpty() && (includeIdle || sample.state() != ThreadState.IDLE);
    }

    /**
     * Whether the samples weigh bytes rather than time: the metadata's mode is {@code memory} (RSS changes),
     * {@code page_faults} (page faults) or {@code leaks} (surviving allocations, {@link LeakReportPage}).
     * Aggregating formats then sum the weights, not count the samples.
     */
    static boolean weighsBytes(ProfileMetadata m) {
        return m.mode().equals("memory") || m.mode().equals("page_faults") || m.mode().equals("leaks");
    }

    final ProfileMetadata metadataNow() {
        ProfileMetadata m = metadata.get();
        return m != null ? m : ProfileMetadata.UNKNOWN;
    }

    abstract void write(StackSample sample) throws IOException;

    /** Writes whatever is buffered and the trailer; the stream is closed afterwards by {@link #close()}. */
    abstract void finish() throws IOException;

    @Override
    public final void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try (OutputStream o = out) {
            finish();
            o.flush();
        }
    }
}
