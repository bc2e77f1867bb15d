package dev.spyglass.internal.export;

/** The {@code chrome} format ({@link ChromeTraceExporter}); no properties. */
public final class ChromeTraceExporterProvider extends BuiltInExporterProvider {

    public ChromeTraceExporterProvider() {
        super(ChromeTraceExporter.FORMAT_NAME,
                "the Trace Event Format (Perfetto, chrome://tracing): each thread's stacks as nested slices",
                options -> ChromeTraceExporter.builder(), ".trace.json");
    }
}
