package dev.spyglass.internal.export;

/** The {@code jsonl} format ({@link JsonLinesExporter}): every sample, one JSON object each; no properties. */
public final class JsonLinesExporterProvider extends BuiltInExporterProvider {

    public JsonLinesExporterProvider() {
        super(JsonLinesExporter.FORMAT_NAME, "One JSON object per sample, one sample per line",
                options -> JsonLinesExporter.builder(), ".jsonl", ".ndjson");
    }
}
