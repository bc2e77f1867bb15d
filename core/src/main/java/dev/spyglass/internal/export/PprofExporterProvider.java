package dev.spyglass.internal.export;

/** The {@code pprof} format ({@link PprofExporter}); no properties. */
public final class PprofExporterProvider extends BuiltInExporterProvider {

    public PprofExporterProvider() {
        super(PprofExporter.FORMAT_NAME, "gzip'ed pprof profile.proto (go tool pprof, Pyroscope, Grafana)",
                options -> PprofExporter.builder(), ".pb.gz", ".pprof");
    }
}
