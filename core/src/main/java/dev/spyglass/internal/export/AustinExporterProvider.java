package dev.spyglass.internal.export;

/** The {@code austin} format ({@link AustinExporter}): every sample, one line each; no properties. */
public final class AustinExporterProvider extends BuiltInExporterProvider {

    public AustinExporterProvider() {
        super(AustinExporter.FORMAT_NAME,
                "Austin's text format (austin-tui, austin2speedscope, Austin's VS Code extension)",
                options -> AustinExporter.builder(), ".austin");
    }
}
