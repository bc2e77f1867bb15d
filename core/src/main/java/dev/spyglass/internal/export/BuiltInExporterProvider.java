package dev.spyglass.internal.export;

import java.io.OutputStream;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

import dev.spyglass.export.ExportOptions;
import dev.spyglass.export.Exporter;
import dev.spyglass.export.ExporterProvider;

/**
 * What the built-in providers share: name, endings and description as constants, and {@link #create}
 * through the format's builder, set up from the shared options and then from the format's own properties.
 * {@code ExportFormats} lists providers of this type first, so the built-in formats keep their order whatever
 * the class path's.
 */
public abstract class BuiltInExporterProvider implements ExporterProvider {
    private final String formatName;
    private final String description;
    private final List<String> fileExtensions;
    private final Function<ExportOptions, ExporterBuilder<?, ?>> builder;

    /**
     * @param builder a new builder of the format, given the options so it can read the format's properties
     *                (and throw {@link IllegalArgumentException} for a value the format refuses)
     */
    BuiltInExporterProvider(String formatName, String description,
            Function<ExportOptions, ExporterBuilder<?, ?>> builder, String... fileExtensions) {
        this.formatName = Objects.requireNonNull(formatName, "formatName");
        this.description = Objects.requireNonNull(description, "description");
        this.builder = Objects.requireNonNull(builder, "builder");
        this.fileExtensions = List.of(fileExtensions);
    }

    @Override
    public final Exporter create(OutputStream out, ExportOptions options) {
        return builder.apply(options).options(options).build(out);
    }

    @Override
    public final String formatName() {
        return formatName;
    }

    @Override
    public final List<String> fileExtensions() {
        return fileExtensions;
    }

    @Override
    public final String description() {
        return description;
    }

    @Override
    public String toString() {
        return formatName;
    }
}
