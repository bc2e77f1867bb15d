package dev.spyglass.internal.export;

import java.io.OutputStream;

import dev.spyglass.export.ExportOptions;
import dev.spyglass.export.Exporter;

/** The {@code pprof} format ({@link PprofExporter}); no properties. */
public final class PprofExporterProvider extends BuiltInExporterProvider {

    public PprofExporterProvider() {
        super(PprofExporter.FORMAT_NAME, "gzip'ed pprof profile.proto (go tool pprof, Pyroscope, Grafana)",
                ".pb.gz", ".pprof");
    }

    @Override
    public Exporter create(OutputStream out, ExportOptions options) {
        return PprofExporter.builder().options(options).build(out);
    }
}
