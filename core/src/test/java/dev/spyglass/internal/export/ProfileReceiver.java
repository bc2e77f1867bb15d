package dev.spyglass.internal.export;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

import com.google.perftools.profiles.ProfileProto.Profile;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import io.opentelemetry.proto.collector.profiles.v1development.ExportProfilesServiceRequest;
import io.opentelemetry.proto.collector.profiles.v1development.ExportProfilesServiceResponse;

/**
 * A real HTTP receiver standing in for an OpenTelemetry Collector and a Pyroscope server, which cannot be installed
 * here: it accepts {@code POST /v1development/profiles} (decoded with the official {@code opentelemetry-proto}
 * classes) and {@code POST /ingest} (the pprof body decoded with pprof's official schema), as those servers'
 * documented APIs define them. A contract test, not an integration with the servers themselves.
 * It can be stopped and started again on the same port, and can answer every request with a given status.
 */
final class ProfileReceiver implements AutoCloseable {

    /** One request as received and decoded. */
    record Received(int status, String path, Map<String, String> query, Map<String, String> headers, byte[] body,
            ExportProfilesServiceRequest otlp, Profile pprof) {
    }

    private final List<Received> received = new ArrayList<>();
    private final int port;
    private volatile int status = 200;
    private HttpServer server;

    ProfileReceiver() throws IOException {
        server = start(0);
        port = server.getAddress().getPort();
    }

    /** {@code http://127.0.0.1:PORT} followed by {@code path}. */
    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    /** The status every request gets from now on (200 unless set); a refused request is recorded as well. */
    void answer(int status) {
        this.status = status;
    }

    synchronized List<Received> received() {
        return List.copyOf(received);
    }

    /** Stops listening: connections are refused until {@link #restart()}. */
    synchronized void stop() {
        server.stop(0);
        server = null;
    }

    /** Listens again on the same port (a few tries: the port may still be held for a moment). */
    synchronized void restart() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (true) {
            try {
                server = start(port);
                return;
            } catch (BindException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(100);
            }
        }
    }

    private HttpServer start(int onPort) throws IOException {
        HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", onPort), 0);
        s.createContext("/", this::handle);
        s.start();
        return s;
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            byte[] raw;
            try (InputStream in = exchange.getRequestBody()) {
                raw = in.readAllBytes();
            }
            Map<String, String> headers = new LinkedHashMap<>();
            exchange.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(java.util.Locale.ROOT),
                    String.join(",", v)));
            Map<String, String> query = new LinkedHashMap<>();
            String rawQuery = exchange.getRequestURI().getRawQuery();
            if (rawQuery != null) {
                for (String pair : rawQuery.split("&")) {
                    int eq = pair.indexOf('=');
                    query.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
                            URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
                }
            }
            String path = exchange.getRequestURI().getPath();
            byte[] body = "gzip".equals(headers.get("content-encoding")) ? gunzip(raw) : raw;
            ExportProfilesServiceRequest otlp = null;
            Profile pprof = null;
            int answer = status;
            byte[] reply = new byte[0];
            if (!exchange.getRequestMethod().equals("POST")) {
                answer = 405;
            } else if (path.equals("/v1development/profiles")) {
                otlp = ExportProfilesServiceRequest.parseFrom(body);
                exchange.getResponseHeaders().add("Content-Type", "application/x-protobuf");
                reply = ExportProfilesServiceResponse.getDefaultInstance().toByteArray();
            } else if (path.equals("/ingest")) {
                pprof = PprofExporterTest.decode(body);
            } else {
                answer = 404;
            }
            synchronized (this) {
                received.add(new Received(answer, path, query, headers, raw, otlp, pprof));
            }
            exchange.sendResponseHeaders(answer, reply.length == 0 ? -1 : reply.length);
            if (reply.length > 0) {
                exchange.getResponseBody().write(reply);
            }
        } catch (Exception e) {
            // A payload the official decoder refuses: answer 400, which the test sees as a refused window.
            exchange.sendResponseHeaders(400, -1);
        }
    }

    private static byte[] gunzip(byte[] bytes) throws IOException {
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(bytes))) {
            return in.readAllBytes();
        }
    }

    @Override
    public synchronized void close() {
        if (server != null) {
            server.stop(0);
        }
    }
}
