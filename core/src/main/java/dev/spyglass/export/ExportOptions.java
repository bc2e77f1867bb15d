package dev.spyglass.export;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * What an {@link ExporterProvider} is given besides the output: the recording's metadata, the options every
 * format may honour, and format-specific properties by name. Immutable; built by {@link #builder()}.
 */
public final class ExportOptions {

    private static final ExportOptions DEFAULTS = builder().build();

    private final Supplier<ProfileMetadata> metadata;
    private final boolean includeIdle;
    private final boolean lineNumbers;
    private final ThreadGrouping threads;
    private final Map<String, String> properties;

    private ExportOptions(Builder b) {
        this.metadata = b.metadata;
        this.includeIdle = b.includeIdle;
        this.lineNumbers = b.lineNumbers;
        this.threads = b.threads;
        this.properties = Map.copyOf(b.properties);
    }

    /** Unknown metadata, idle threads dropped, line numbers kept, threads grouped by name pattern, no properties. */
    public static ExportOptions defaults() {
        return DEFAULTS;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * The recording's metadata as known now; never null ({@link ProfileMetadata#UNKNOWN} when nothing is known).
     * Exporters ask when they write a header and again at {@link Exporter#close()}, where a live source
     * reports the final counts.
     */
    public ProfileMetadata metadata() {
        ProfileMetadata m = metadata.get();
        return m != null ? m : ProfileMetadata.UNKNOWN;
    }

    /** Where {@link #metadata()} comes from, for an exporter that keeps asking. */
    public Supplier<ProfileMetadata> metadataSource() {
        return metadata;
    }

    /**
     * Whether samples of idle threads ({@link dev.spyglass.ThreadState#IDLE}) are kept. Aggregating formats
     * (flame graphs) drop them by default so a graph shows where threads run; raw formats keep every sample.
     */
    public boolean includeIdle() {
        return includeIdle;
    }

    /** Whether frames are told apart by line ({@code true}, the default) or only by function and file. */
    public boolean lineNumbers() {
        return lineNumbers;
    }

    /** How aggregating formats group threads under roots; default {@link ThreadGrouping#PATTERN}. */
    public ThreadGrouping threads() {
        return threads;
    }

    /**
     * A format-specific setting, e.g. {@code collapsed.value}. Names start with the format's name and a dot,
     * so one set of options can be handed to any format; each provider documents the names it reads.
     */
    public Optional<String> property(String name) {
        return Optional.ofNullable(properties.get(Objects.requireNonNull(name, "name")));
    }

    /** Every format-specific setting, unmodifiable. */
    public Map<String, String> properties() {
        return properties;
    }

    /** A builder starting from these options. */
    public Builder toBuilder() {
        Builder b = builder().metadata(metadata).includeIdle(includeIdle).lineNumbers(lineNumbers).threads(threads);
        b.properties.putAll(properties);
        return b;
    }

    /** Builds {@link ExportOptions}; the defaults are those of {@link ExportOptions#defaults()}. */
    public static final class Builder {
        private Supplier<ProfileMetadata> metadata = () -> ProfileMetadata.UNKNOWN;
        private boolean includeIdle;
        private boolean lineNumbers = true;
        private ThreadGrouping threads = ThreadGrouping.PATTERN;
        private final Map<String, String> properties = new LinkedHashMap<>();

        private Builder() {
        }

        /** Live metadata: asked when a header is written and again at close (final counts). */
        public Builder metadata(Supplier<ProfileMetadata> metadata) {
            this.metadata = Objects.requireNonNull(metadata, "metadata");
            return this;
        }

        /** Fixed metadata; see {@link #metadata(Supplier)}. */
        public Builder metadata(ProfileMetadata metadata) {
            Objects.requireNonNull(metadata, "metadata");
            return metadata(() -> metadata);
        }

        /** See {@link ExportOptions#includeIdle()}; default {@code false}. */
        public Builder includeIdle(boolean includeIdle) {
            this.includeIdle = includeIdle;
            return this;
        }

        /** See {@link ExportOptions#lineNumbers()}; default {@code true}. */
        public Builder lineNumbers(boolean lineNumbers) {
            this.lineNumbers = lineNumbers;
            return this;
        }

        /** See {@link ExportOptions#threads()}; default {@link ThreadGrouping#PATTERN}. */
        public Builder threads(ThreadGrouping threads) {
            this.threads = Objects.requireNonNull(threads, "threads");
            return this;
        }

        /** Sets a format-specific property (see {@link ExportOptions#property(String)}), replacing any before. */
        public Builder property(String name, String value) {
            properties.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(value, "value"));
            return this;
        }

        public ExportOptions build() {
            return new ExportOptions(this);
        }
    }
}
