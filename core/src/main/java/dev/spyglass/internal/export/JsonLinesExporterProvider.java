package dev.spyglass.internal.export;

/**
 * The {@code jsonl} format ({@link JsonLinesExporter}): every sample, one JSON object each, between a header and
 * an end line. Property {@code jsonl.metadata} ({@code true}, the default, or {@code false}: sample lines only).
 */
public final class JsonLinesExporterProvider extends BuiltInExporterProvider {

    public JsonLinesExporterProvider() {
        super(JsonLinesExporter.FORMAT_NAME, "One JSON object per sample, one sample per line",
                options -> JsonLinesExporter.builder().properties(options.properties())
                        .withMetadata(switch (options.property(JsonLinesExporter.METADATA_PROPERTY).orElse("true")) {
                            case "true" -> true;
                            case "false" -> false;
                            default -> throw new IllegalArgumentException(JsonLinesExporter.METADATA_PROPERTY
                                    + " must be true or false, not '"
                                    + options.property(JsonLinesExporter.METADATA_PROPERTY).orElseThrow() + "'");
                        }), ".jsonl", ".ndjson");
    }
}
