package dev.spyglass.internal.export;

/**
 * The {@code sgr} format ({@link CompactRecordingExporter}): every sample, as jsonl, in a compact binary form
 * that {@code spyglass convert} reads; no properties of its own.
 */
public final class CompactRecordingExporterProvider extends BuiltInExporterProvider {

    public CompactRecordingExporterProvider() {
        super(CompactRecordingExporter.FORMAT_NAME,
                "Spyglass's compact binary recording: what jsonl holds in a tenth of the bytes, for convert",
                options -> CompactRecordingExporter.builder().properties(options.properties()), ".sgr");
    }
}
