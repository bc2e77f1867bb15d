package dev.spyglass.internal.export;

/** The {@code gecko} format ({@link GeckoProfileExporter}); no properties. */
public final class GeckoProfileExporterProvider extends BuiltInExporterProvider {

    public GeckoProfileExporterProvider() {
        super(GeckoProfileExporter.FORMAT_NAME, "the Firefox Profiler's processed profile format, one track per thread",
                options -> GeckoProfileExporter.builder(), ".gecko.json");
    }
}
