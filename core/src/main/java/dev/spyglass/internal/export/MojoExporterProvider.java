package dev.spyglass.internal.export;

/** The {@code mojo} format ({@link MojoExporter}): Austin 4's binary format, every sample; no properties. */
public final class MojoExporterProvider extends BuiltInExporterProvider {

    public MojoExporterProvider() {
        super(MojoExporter.FORMAT_NAME,
                "Austin 4's binary MOJO format (austin-tui, austin-web, Austin's VS Code extension, austin-python)",
                options -> MojoExporter.builder(), ".mojo");
    }
}
