package dev.spyglass.internal.export;

import java.io.OutputStream;

import dev.spyglass.export.ExportOptions;
import dev.spyglass.export.Exporter;

/** The {@code speedscope} format ({@link SpeedscopeExporter}); no properties. */
public final class SpeedscopeExporterProvider extends BuiltInExporterProvider {

    public SpeedscopeExporterProvider() {
        super(SpeedscopeExporter.FORMAT_NAME, "speedscope's JSON file format, one profile per thread",
                ".speedscope.json", ".json");
    }

    @Override
    public Exporter create(OutputStream out, ExportOptions options) {
        return SpeedscopeExporter.builder().options(options).build(out);
    }
}
