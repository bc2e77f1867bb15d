package dev.spyglass.internal.export;

import static dev.spyglass.internal.export.SyntheticProfile.*;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;

/**
 * Loads exported files into speedscope's own web app (the npm package's release build) in headless chromium:
 * speedscope's importers for Brendan Gregg's collapsed format, pprof and its own format are independent
 * decoders. The Sandwich view's table then lists every function with its self time, which must match the
 * known profile.
 */
class SpeedscopeImportTest {

    @TempDir
    Path dir;

    /** Serves speedscope's release directory and {@code dir} (for the profiles) over HTTP on localhost. */
    static HttpServer serve(Path profiles) throws IOException {
        Path app = SpeedscopeSchema.schema().getParent();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            String path = exchange.getRequestURI().getPath();
            Path file = path.startsWith("/profiles/") ? profiles.resolve(path.substring("/profiles/".length()))
                    : app.resolve(path.equals("/") ? "index.html" : path.substring(1));
            file = file.normalize();
            if (!(file.startsWith(app) || file.startsWith(profiles)) || !Files.isRegularFile(file)) {
                exchange.sendResponseHeaders(404, -1);
                exchange.close();
                return;
            }
            String type = file.toString().endsWith(".html") ? "text/html" : file.toString().endsWith(".js")
                    ? "text/javascript" : file.toString().endsWith(".css") ? "text/css" : "application/octet-stream";
            exchange.getResponseHeaders().add("Content-Type", type);
            byte[] body = Files.readAllBytes(file);
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream o = exchange.getResponseBody()) {
                o.write(body);
            }
        });
        server.start();
        return server;
    }

    /** Opens the profile in speedscope's Sandwich view and returns symbol name → self column text. */
    static Map<String, String> sandwich(HeadlessChromium chromium, HttpServer server, String profileFile)
            throws Exception {
        String base = "http://127.0.0.1:" + server.getAddress().getPort();
        chromium.open(base + "/index.html?for=" + profileFile + "#profileURL=" + base + "/profiles/" + profileFile + "&view=sandwich");
        JsonNode rows = null;
        for (int i = 0; i < 100; i++) {
            rows = chromium.eval("""
                    [...document.querySelectorAll('tr')].filter(r => r.cells.length === 3 && r.cells[0].tagName === 'TD'
                        && /%\\)$/.test(r.cells[1].textContent))
                      .map(r => [r.cells[2].textContent, r.cells[1].textContent])""");
            if (rows.size() > 0) {
                break;
            }
            Thread.sleep(100);
        }
        Map<String, String> self = new LinkedHashMap<>();
        // Symbol names can repeat: speedscope's pprof importer names a function without its file, so two
        // functions called e.g. <module> or run in different files are two rows of the same name. Keep the
        // first row of each name; the tests only look at names that are unique in their profile.
        rows.forEach(r -> {
            String value = r.get(1).asText();
            self.putIfAbsent(r.get(0).asText(), value.substring(0, value.indexOf(" (")));
        });
        return self;
    }

    @Test
    void speedscopeImportsCollapsedPprofAndSpeedscopeFiles() throws Exception {
        SpeedscopeSchema.schema();
        feed(CollapsedExporter.builder().build(dir.resolve("p.collapsed")));
        feed(PprofExporter.builder().metadata(METADATA).build(dir.resolve("p.pb.gz")));
        feed(SpeedscopeExporter.builder().metadata(METADATA).build(dir.resolve("p.speedscope.json")));
        HttpServer server = serve(dir);
        try (HeadlessChromium chromium = HeadlessChromium.start(1400, 900)) {
            Map<String, String> collapsed = sandwich(chromium, server, "p.collapsed");
            assertThat(collapsed).containsEntry("Outer.leaf (/app/x.py:9)", "50").containsEntry("Outer.leaf (/app/x.py:10)", "10")
                    .containsEntry("helper (/app/x.py:14)", "25").containsEntry("naïve_ß (/app/tëst_ü.py:2)", "10")
                    .containsEntry("main (/app/x.py:20)", "0").containsEntry("thread 1240 (MainThread)", "0");

            // speedscope's pprof importer merges a function's lines and shows the default (wall) sample type
            Map<String, String> pprof = sandwich(chromium, server, "p.pb.gz");
            assertThat(pprof).containsEntry("Outer.leaf", "60.00ms").containsEntry("helper", "25.00ms")
                    .containsEntry("naïve_ß", "10.00ms").containsEntry("main", "0.00ns");

            // the busiest thread's profile opens first
            Map<String, String> speedscope = sandwich(chromium, server, "p.speedscope.json");
            assertThat(speedscope).containsEntry("Outer.leaf (/app/x.py:9)", "50.00ms")
                    .containsEntry("Outer.leaf (/app/x.py:10)", "10.00ms").containsEntry("helper (/app/x.py:14)", "25.00ms")
                    .doesNotContainKey("naïve_ß (/app/tëst_ü.py:2)");
            assertThat(chromium.errors()).isEmpty();
        } finally {
            server.stop(0);
        }
    }
}
