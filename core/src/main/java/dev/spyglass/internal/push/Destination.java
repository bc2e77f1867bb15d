package dev.spyglass.internal.push;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

/**
 * Where and as whom profiles are pushed: the receiver's address and the labels every profile carries.
 *
 * @param endpoint    OTLP: the full profiles address ({@code http://collector:4318/v1development/profiles});
 *                    Pyroscope: the server's base address ({@code http://pyroscope:4040}) or its {@code /ingest}
 * @param serviceName the service the profiles belong to ({@code service.name}, Pyroscope's application name)
 * @param host        this machine's name
 * @param labels      further labels, in order
 * @param gzip        whether to compress request bodies (OTLP; pprof is compressed by its own format)
 */
public record Destination(URI endpoint, String serviceName, String host, Map<String, String> labels, boolean gzip) {

    public Destination {
        labels = Map.copyOf(labels);
    }

    static byte[] gzip(byte[] bytes) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(bytes.length / 4 + 64);
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // not from a byte array
        }
        return out.toByteArray();
    }
}
