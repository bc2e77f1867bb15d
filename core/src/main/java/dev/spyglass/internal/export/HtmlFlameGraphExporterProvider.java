package dev.spyglass.internal.export;

import dev.spyglass.export.ExportOptions;

/**
 * The {@code html} format ({@link HtmlFlameGraphExporter}). Property {@value #TITLE}: the page title and
 * heading (default {@code Spyglass: <command>}).
 */
public final class HtmlFlameGraphExporterProvider extends BuiltInExporterProvider {

    /** The property setting the page title. */
    public static final String TITLE = "html.title";

    public HtmlFlameGraphExporterProvider() {
        super(HtmlFlameGraphExporter.FORMAT_NAME, "a self-contained interactive flame graph page",
                HtmlFlameGraphExporterProvider::builder, ".html", ".htm");
    }

    private static HtmlFlameGraphExporter.Builder builder(ExportOptions options) {
        HtmlFlameGraphExporter.Builder b = HtmlFlameGraphExporter.builder();
        options.property(TITLE).ifPresent(b::title);
        return b;
    }
}
