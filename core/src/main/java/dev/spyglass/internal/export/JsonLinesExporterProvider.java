package dev.spyglass.internal.export;

import java.io.OutputStream;

import dev.spyglass.export.ExportOptions;
import dev.spyglass.export.Exporter;

/** The {@code jsonl} format ({@link JsonLinesExporter}): every sample, one JSON object each; no properties. */
public final class JsonLinesExporterProvider extends BuiltInExporterProvider {

    public JsonLinesExporterProvider() {
        super(JsonLinesExporter.FORMAT_NAME, "One JSON object per sample, one sample per line", ".jsonl", ".ndjson");
    }

    @Override
    public Exporter create(OutputStream out, ExportOptions options) {
        return JsonLinesExporter.builder().options(options).build(out);
    }
}
