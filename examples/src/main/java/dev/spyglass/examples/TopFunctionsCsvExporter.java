package dev.spyglass.examples;

import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.export.Exporter;

/**
 * Example of a user's own export format, written on the same SPI as the built-in ones: the top N functions by
 * own samples, as CSV ({@code function,file,own_samples,total_samples,own_percent,total_percent}).
 *
 * <p>Use it directly, as any {@link dev.spyglass.SampleSink}:
 *
 * <pre>{@code
 * try (SamplingSession s = Sampler.builder().duration(Duration.ofSeconds(5)).build().attach(pid);
 *      Exporter csv = new TopFunctionsCsvExporter(Files.newOutputStream(Path.of("top.csv")), 20)) {
 *     s.drainTo(csv);
 * }
 * }</pre>
 *
 * or by name, through the provider that registers it ({@link TopFunctionsCsvExporterProvider}): then
 * {@code ExportFormats.installed().byName("top-csv")} finds it and {@code spyglass record -f top-csv} (or
 * {@code -o top.csv}) writes with it. Adding a format takes three pieces: this class (an {@link Exporter}), the
 * provider, and the provider's registration in {@code module-info.java} and {@code META-INF/services}; see
 * {@code docs/exporters-custom.md}.
 *
 * <p>An exporter gets its samples from one thread at a time and owns its output stream: it writes what it
 * aggregated and closes the stream in {@link #close()}, which may be called more than once.
 */
public final class TopFunctionsCsvExporter implements Exporter {

    /** The name {@code -f} takes and {@link #formatName()} returns. */
    public static final String FORMAT_NAME = "top-csv";

    private record Function(String name, String file) {
    }

    private final OutputStream out;
    private final int limit;
    private final Map<Function, long[]> counts = new HashMap<>();
    private long samples;
    private boolean closed;

    /**
     * @param out   where the CSV goes; closed by {@link #close()}
     * @param limit how many functions to write, at least 1
     */
    public TopFunctionsCsvExporter(OutputStream out, int limit) {
        this.out = Objects.requireNonNull(out, "out");
        if (limit < 1) {
            throw new IllegalArgumentException("limit must be at least 1: " + limit);
        }
        this.limit = limit;
    }

    @Override
    public String formatName() {
        return FORMAT_NAME;
    }

    @Override
    public void accept(StackSample sample) {
        List<Frame> frames = sample.frames();
        if (frames.isEmpty()) {
            return;
        }
        samples++;
        Set<Function> seen = new HashSet<>();
        for (int i = 0; i < frames.size(); i++) {
            Function f = new Function(frames.get(i).qualifiedName(), frames.get(i).file());
            long[] c = counts.computeIfAbsent(f, k -> new long[2]);
            if (i == 0) {
                c[0]++; // innermost frame: own time
            }
            if (seen.add(f)) {
                c[1]++; // anywhere on the stack, once per sample: total time
            }
        }
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        List<Map.Entry<Function, long[]>> rows = new ArrayList<>(counts.entrySet());
        rows.sort((a, b) -> Long.compare(b.getValue()[0], a.getValue()[0]) != 0
                ? Long.compare(b.getValue()[0], a.getValue()[0]) : Long.compare(b.getValue()[1], a.getValue()[1]));
        try (Writer w = new OutputStreamWriter(out, StandardCharsets.UTF_8)) {
            w.write("function,file,own_samples,total_samples,own_percent,total_percent\n");
            for (Map.Entry<Function, long[]> e : rows.subList(0, Math.min(limit, rows.size()))) {
                long[] c = e.getValue();
                w.write(csv(e.getKey().name()) + "," + csv(e.getKey().file()) + "," + c[0] + "," + c[1] + ","
                        + String.format(Locale.ROOT, "%.2f,%.2f", 100.0 * c[0] / samples, 100.0 * c[1] / samples)
                        + "\n");
            }
        }
    }

    /** RFC 4180 quoting. */
    private static String csv(String s) {
        return s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }
}
