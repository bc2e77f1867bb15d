package dev.spyglass.examples;

import java.io.OutputStream;
import java.util.List;

import dev.spyglass.export.ExportOptions;
import dev.spyglass.export.Exporter;
import dev.spyglass.export.ExporterProvider;

/**
 * Makes {@link TopFunctionsCsvExporter} a format {@link dev.spyglass.export.ExportFormats} finds by name
 * ({@code top-csv}) or by file name ending ({@code .top.csv}, {@code .csv}), so {@code spyglass record -f top-csv}
 * and {@code spyglass record -o top.csv} write through it. Registered twice, once per way of running:
 * <ul>
 * <li>module path: {@code provides dev.spyglass.export.ExporterProvider with
 * dev.spyglass.examples.TopFunctionsCsvExporterProvider;} in this module's {@code module-info.java};</li>
 * <li>class path (the CLI jar, tests): the line {@code dev.spyglass.examples.TopFunctionsCsvExporterProvider} in
 * {@code META-INF/services/dev.spyglass.export.ExporterProvider}.</li>
 * </ul>
 * Property {@value #LIMIT} (given on the command line as {@code --format-option top-csv.limit=5}): how many
 * functions to write, default {@value #DEFAULT_LIMIT}. A provider needs a public no-argument constructor and
 * no state: one instance creates every exporter.
 */
public final class TopFunctionsCsvExporterProvider implements ExporterProvider {

    /** The property holding the number of rows. */
    public static final String LIMIT = "top-csv.limit";
    /** Rows written when {@link #LIMIT} is not given. */
    public static final int DEFAULT_LIMIT = 20;

    @Override
    public String formatName() {
        return TopFunctionsCsvExporter.FORMAT_NAME;
    }

    @Override
    public List<String> fileExtensions() {
        return List.of(".top.csv", ".csv");
    }

    @Override
    public String description() {
        return "the top functions by own samples, as CSV (an example of a user's exporter)";
    }

    @Override
    public Exporter create(OutputStream out, ExportOptions options) {
        String limit = options.property(LIMIT).orElse(Integer.toString(DEFAULT_LIMIT));
        try {
            return new TopFunctionsCsvExporter(out, Integer.parseInt(limit));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(LIMIT + " must be a whole number, not '" + limit + "'", e);
        }
    }
}
