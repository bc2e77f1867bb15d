package dev.spyglass.internal.export;

import java.io.OutputStream;

import dev.spyglass.export.ExportOptions;
import dev.spyglass.export.Exporter;

/**
 * The {@code html} format ({@link HtmlFlameGraphExporter}). Property {@value #TITLE}: the page title and
 * heading (default {@code Spyglass: <command>}).
 */
public final class HtmlFlameGraphExporterProvider extends BuiltInExporterProvider {

    /** The property setting the page title. */
    public static final String TITLE = "html.title";

    public HtmlFlameGraphExporterProvider() {
        super(HtmlFlameGraphExporter.FORMAT_NAME, "a self-contained interactive flame graph page", ".html", ".htm");
    }

    @Override
    public Exporter create(OutputStream out, ExportOptions options) {
        HtmlFlameGraphExporter.Builder b = HtmlFlameGraphExporter.builder().options(options);
        options.property(TITLE).ifPresent(b::title);
        return b.build(out);
    }
}
