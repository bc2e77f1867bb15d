package dev.spyglass.internal.export;

import dev.spyglass.export.ExportOptions;

/**
 * The {@code collapsed} format ({@link CollapsedExporter}). Property {@value #VALUE}: {@code samples} (the
 * default) ends each line with the sample count, {@code weight} with the summed weight in microseconds.
 */
public final class CollapsedExporterProvider extends BuiltInExporterProvider {

    /** The property choosing what the number ending each line counts. */
    public static final String VALUE = "collapsed.value";

    public CollapsedExporterProvider() {
        super(CollapsedExporter.FORMAT_NAME, "Brendan Gregg's folded stacks (flamegraph.pl, inferno, speedscope)",
                options -> CollapsedExporter.builder().value(value(options)), ".collapsed", ".folded", ".txt");
    }

    private static CollapsedExporter.Value value(ExportOptions options) {
        return switch (options.property(VALUE).orElse("samples")) {
            case "samples" -> CollapsedExporter.Value.SAMPLES;
            case "weight" -> CollapsedExporter.Value.WEIGHT_MICROS;
            case String other -> throw new IllegalArgumentException(
                    VALUE + " must be samples or weight, not '" + other + "'");
        };
    }
}
