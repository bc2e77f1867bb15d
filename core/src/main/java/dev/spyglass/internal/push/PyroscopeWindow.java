package dev.spyglass.internal.push;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

import dev.spyglass.StackSample;
import dev.spyglass.export.ProfileMetadata;
import dev.spyglass.export.ThreadGrouping;
import dev.spyglass.internal.export.PprofExporter;

/**
 * A window sent to Pyroscope's ingest API: {@code POST /ingest?name=SERVICE{labels}&from=&until=&format=pprof
 * &sampleRate=&spyName=spyglass} with the gzip'ed pprof profile ({@link PprofExporter}, one root per thread: sample
 * labels {@code thread}, {@code thread_id}, {@code pid}) as the body. {@code from} and {@code until} are Unix
 * seconds; the series labels are {@code hostname}, {@code pid}, {@code python_version}, {@code container} (the
 * short id, when the target runs in a container) and the caller's.
 */
public final class PyroscopeWindow implements PushWindow {
    private final Destination destination;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final PprofExporter pprof;
    private volatile ProfileMetadata windowMetadata = ProfileMetadata.UNKNOWN;
    private long samples;

    public PyroscopeWindow(Destination destination, boolean includeIdle) {
        this.destination = destination;
        this.pprof = PprofExporter.builder().threads(ThreadGrouping.EACH).includeIdle(includeIdle)
                .metadata(() -> windowMetadata).build(out);
    }

    @Override
    public void add(StackSample sample) {
        pprof.accept(sample);
        samples++;
    }

    @Override
    public long samples() {
        return samples;
    }

    @Override
    public Payload payload(ProfileMetadata metadata, long startNanos, long endNanos) {
        windowMetadata = metadata.toBuilder().startEpochNanos(startNanos)
                .duration(java.time.Duration.ofNanos(Math.max(0, endNanos - startNanos))).build();
        try {
            pprof.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a byte array stream does not fail
        }
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put("hostname", destination.host());
        if (metadata.pid() > 0) {
            labels.put("pid", Long.toString(metadata.pid()));
        }
        if (!metadata.pythonVersion().isEmpty()) {
            labels.put("python_version", metadata.pythonVersion());
        }
        if (!metadata.container().isEmpty()) {
            labels.put("container", metadata.container());
        }
        labels.putAll(destination.labels());
        StringBuilder name = new StringBuilder(destination.serviceName()).append('{');
        labels.forEach((k, v) -> name.append(name.charAt(name.length() - 1) == '{' ? "" : ",")
                .append(labelName(k)).append('=').append(labelValue(v)));
        name.append('}');
        long interval = metadata.interval().toNanos();
        String query = "name=" + encode(name.toString())
                + "&from=" + startNanos / 1_000_000_000L
                + "&until=" + Math.max(startNanos / 1_000_000_000L + 1, (endNanos + 999_999_999L) / 1_000_000_000L)
                + "&format=pprof&spyName=spyglass"
                + (interval > 0 ? "&sampleRate=" + Math.max(1, Math.round(1e9 / interval)) : "");
        String base = destination.endpoint().toString();
        if (base.endsWith("/")) {
            base = base.substring(0, base.length() - 1);
        }
        if (!base.endsWith("/ingest")) {
            base += "/ingest";
        }
        return new Payload(URI.create(base + "?" + query), Map.of("Content-Type", "application/octet-stream"),
                out.toByteArray(), samples);
    }

    /** A label name Pyroscope accepts: letters, digits and '_', not starting with a digit. */
    public static String labelName(String key) {
        String s = key.replaceAll("[^A-Za-z0-9_]", "_");
        return s.isEmpty() || Character.isDigit(s.charAt(0)) ? "_" + s : s;
    }

    /** A value without the characters that delimit Pyroscope's {@code name{k=v,...}} syntax. */
    public static String labelValue(String value) {
        return value.replaceAll("[{},=\\s]", "_");
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
