package dev.spyglass.export;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** The built-in file formats, with their command-line names and the file name endings that select them. */
public enum ExportFormat {
    /** Brendan Gregg's folded stacks ({@link CollapsedExporter}). */
    COLLAPSED("collapsed", ".collapsed", ".folded", ".txt"),
    /** Austin's text format ({@link AustinExporter}). */
    AUSTIN("austin", ".austin"),
    /** One JSON object per sample ({@link JsonLinesExporter}). */
    JSONL("jsonl", ".jsonl", ".ndjson"),
    /** speedscope's JSON file format ({@link SpeedscopeExporter}). */
    SPEEDSCOPE("speedscope", ".speedscope.json", ".json"),
    /** gzip'ed pprof {@code profile.proto} ({@link PprofExporter}). */
    PPROF("pprof", ".pb.gz", ".pprof"),
    /** A self-contained interactive flame graph ({@link HtmlFlameGraphExporter}). */
    HTML("html", ".html", ".htm");

    private final String formatName;
    private final List<String> extensions;

    ExportFormat(String formatName, String... extensions) {
        this.formatName = formatName;
        this.extensions = List.of(extensions);
    }

    /** The short name used on the command line and returned by {@link Exporter#formatName()}. */
    public String formatName() {
        return formatName;
    }

    /** File name endings that select this format, most specific first (e.g. {@code .pb.gz}). */
    public List<String> extensions() {
        return extensions;
    }

    /** The format named {@code name} (case-insensitive), or empty. */
    public static Optional<ExportFormat> byName(String name) {
        return Arrays.stream(values()).filter(f -> f.formatName.equalsIgnoreCase(name)).findFirst();
    }

    /**
     * The format a file name's ending selects (case-insensitive; the longest matching ending wins, so
     * {@code x.speedscope.json} and {@code x.json} are both speedscope), or empty when no format claims it.
     */
    public static Optional<ExportFormat> forFileName(String fileName) {
        String lower = fileName.toLowerCase(Locale.ROOT);
        ExportFormat best = null;
        int bestLength = 0;
        for (ExportFormat format : values()) {
            for (String extension : format.extensions) {
                if (lower.endsWith(extension) && extension.length() > bestLength) {
                    best = format;
                    bestLength = extension.length();
                }
            }
        }
        return Optional.ofNullable(best);
    }
}
