package dev.spyglass.internal.export;

import java.util.List;
import java.util.Objects;

import dev.spyglass.export.ExporterProvider;

/**
 * What the six built-in providers share: name, endings and description as constants. {@code ExportFormats}
 * lists providers of this type first, so the built-in formats keep their order whatever the class path's.
 */
public abstract class BuiltInExporterProvider implements ExporterProvider {
    private final String formatName;
    private final String description;
    private final List<String> fileExtensions;

    BuiltInExporterProvider(String formatName, String description, String... fileExtensions) {
        this.formatName = Objects.requireNonNull(formatName, "formatName");
        this.description = Objects.requireNonNull(description, "description");
        this.fileExtensions = List.of(fileExtensions);
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
