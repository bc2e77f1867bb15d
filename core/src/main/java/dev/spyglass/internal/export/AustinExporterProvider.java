package dev.spyglass.internal.export;

import java.io.OutputStream;

import dev.spyglass.export.ExportOptions;
import dev.spyglass.export.Exporter;

/** The {@code austin} format ({@link AustinExporter}): every sample, one line each; no properties. */
public final class AustinExporterProvider extends BuiltInExporterProvider {

    public AustinExporterProvider() {
        super(AustinExporter.FORMAT_NAME,
                "Austin's text format (austin-tui, austin2speedscope, Austin's VS Code extension)", ".austin");
    }

    @Override
    public Exporter create(OutputStream out, ExportOptions options) {
        return AustinExporter.builder().options(options).build(out);
    }
}
