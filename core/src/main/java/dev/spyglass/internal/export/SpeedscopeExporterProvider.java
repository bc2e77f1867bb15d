package dev.spyglass.internal.export;

/** The {@code speedscope} format ({@link SpeedscopeExporter}); no properties. */
public final class SpeedscopeExporterProvider extends BuiltInExporterProvider {

    public SpeedscopeExporterProvider() {
        super(SpeedscopeExporter.FORMAT_NAME, "speedscope's JSON file format, one profile per thread",
                options -> SpeedscopeExporter.builder(), ".speedscope.json", ".json");
    }
}
