package dev.spyglass.examples;

import static dev.spyglass.examples.SpyglassCliIT.cli;
import static dev.spyglass.examples.SpyglassCliIT.run;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.sun.net.httpserver.HttpServer;

import dev.spyglass.testsupport.PythonInterpreter;
import dev.spyglass.testsupport.PythonInterpreters;
import io.opentelemetry.proto.collector.profiles.v1development.ExportProfilesServiceRequest;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.profiles.v1development.ProfilesDictionary;
import io.opentelemetry.proto.profiles.v1development.Sample;

/**
 * {@code spyglass record --push} and {@code spyglass agent} against a real HTTP receiver in the test, which decodes
 * OTLP with the official {@code opentelemetry-proto} classes (a contract test: no Collector or Pyroscope server can
 * be installed here).
 */
class PushCliIT {

    /** One request: its path, query, headers and, for OTLP, the decoded request. */
    record Received(String path, Map<String, String> query, Map<String, String> headers, byte[] body,
            ExportProfilesServiceRequest otlp) {

        Map<String, String> resource() {
            Map<String, String> out = new LinkedHashMap<>();
            for (KeyValue kv : otlp.getResourceProfiles(0).getResource().getAttributesList()) {
                out.put(kv.getKey(), kv.getValue().hasIntValue() ? Long.toString(kv.getValue().getIntValue())
                        : kv.getValue().getStringValue());
            }
            return out;
        }

        /** Samples received, and those whose leaf is {@code function}. */
        long[] samplesAndLeaves(String function) {
            ProfilesDictionary d = otlp.getDictionary();
            long all = 0;
            long leaf = 0;
            for (Sample s : otlp.getResourceProfiles(0).getScopeProfiles(0).getProfiles(0).getSamplesList()) {
                all += s.getTimestampsUnixNanoCount();
                int location = d.getStackTable(s.getStackIndex()).getLocationIndices(0);
                int fn = d.getLocationTable(location).getLines(0).getFunctionIndex();
                if (d.getStringTable(d.getFunctionTable(fn).getNameStrindex()).equals(function)) {
                    leaf += s.getTimestampsUnixNanoCount();
                }
            }
            return new long[] {all, leaf};
        }
    }

    @TempDir
    Path dir;
    Path script;
    HttpServer server;
    final List<Received> received = new ArrayList<>();

    @BeforeEach
    void start() throws IOException {
        script = dir.resolve("push_target.py");
        Files.writeString(script, SpyglassCliIT.SCRIPT);
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            try (exchange) {
                byte[] body;
                try (InputStream in = exchange.getRequestBody()) {
                    body = in.readAllBytes();
                }
                Map<String, String> headers = new LinkedHashMap<>();
                exchange.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(), String.join(",", v)));
                Map<String, String> query = new LinkedHashMap<>();
                String raw = exchange.getRequestURI().getRawQuery();
                for (String pair : raw == null ? new String[0] : raw.split("&")) {
                    int eq = pair.indexOf('=');
                    query.put(pair.substring(0, eq), URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
                }
                ExportProfilesServiceRequest otlp = null;
                if (exchange.getRequestURI().getPath().equals("/v1development/profiles")) {
                    byte[] plain = body;
                    if ("gzip".equals(headers.get("content-encoding"))) {
                        try (InputStream gz = new GZIPInputStream(new ByteArrayInputStream(body))) {
                            plain = gz.readAllBytes();
                        }
                    }
                    otlp = ExportProfilesServiceRequest.parseFrom(plain);
                }
                synchronized (received) {
                    received.add(new Received(exchange.getRequestURI().getPath(), query, headers, body, otlp));
                }
                exchange.sendResponseHeaders(200, -1);
            }
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    String url(String path) {
        return "http://127.0.0.1:" + server.getAddress().getPort() + path;
    }

    List<Received> received() {
        synchronized (received) {
            return List.copyOf(received);
        }
    }

    static boolean await(BooleanSupplier condition, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(100);
        }
        return true;
    }

    Process startTarget(PythonInterpreter py, String seconds) throws IOException {
        return py.processBuilder(script.toString(), seconds).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    }

    @Test
    void recordPushSendsEverySampleToAnOtlpReceiverWithItsHeadersAndLabels() throws Exception {
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 12);
        Process target = startTarget(py, "30");
        try {
            Thread.sleep(400);
            Path out = dir.resolve("p.collapsed");
            SpyglassCliIT.Result r = run(cli("record", "-p", Long.toString(target.pid()), "-d", "3", "-o",
                    out.toString(), "--push", url("/v1development/profiles"), "--push-interval", "1s",
                    "--push-header", "Authorization: Bearer t0ken", "--service-name", "web", "--push-label",
                    "env=ci"), 90);
            assertThat(r.exit()).as(r.err()).isZero();
            assertThat(out).exists(); // the file is written as without --push
            Matcher m = Pattern.compile("pushed ([0-9,]+) of ([0-9,]+) samples to " + Pattern.quote(
                    url("/v1development/profiles")) + " \\(otlp, [0-9,]+ profiles\\)\n").matcher(r.err());
            assertThat(m.find()).as(r.err()).isTrue();
            long sent = Long.parseLong(m.group(1).replace(",", ""));
            assertThat(sent).isEqualTo(Long.parseLong(m.group(2).replace(",", ""))).isPositive();

            long samples = 0;
            long hot = 0;
            for (Received got : received()) {
                assertThat(got.headers()).containsEntry("authorization", "Bearer t0ken")
                        .containsEntry("content-encoding", "gzip");
                assertThat(got.resource()).containsEntry("service.name", "web").containsEntry("env", "ci")
                        .containsEntry("process.pid", Long.toString(target.pid()))
                        .containsEntry("process.runtime.version", py.version().toString());
                long[] counts = got.samplesAndLeaves("hot_leaf");
                samples += counts[0];
                hot += counts[1];
            }
            assertThat(samples).isEqualTo(sent);
            assertThat(hot).isGreaterThan(samples / 4);
        } finally {
            target.destroyForcibly().waitFor();
        }
    }

    @Test
    void agentFollowsMatchingProcessesAsTheyComeAndGoUntilSigterm() throws Exception {
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 12);
        Process first = startTarget(py, "15"); // long enough for the agent to start on a loaded machine
        Process second = null;
        Path err = dir.resolve("agent.err");
        Process agent = new ProcessBuilder(cli("agent", "--match", "push_target\\.py", "--push",
                url("/v1development/profiles"), "--every", "500ms", "--rescan", "300ms", "-i", "5ms"))
                .redirectError(err.toFile()).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            assertThat(await(() -> pids().contains(first.pid()), 40)).as("profiles of the first process; %s",
                    read(err)).isTrue();
            second = startTarget(py, "60");
            long secondPid = second.pid();
            assertThat(await(() -> pids().contains(secondPid), 40)).as("profiles of a process started later; %s",
                    read(err)).isTrue();
            assertThat(first.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(await(() -> read(err).contains("process " + first.pid() + " ended: pushed"), 30))
                    .as(read(err)).isTrue();

            new ProcessBuilder("kill", "-TERM", Long.toString(agent.pid())).start().waitFor();
            assertThat(agent.waitFor(40, TimeUnit.SECONDS)).isTrue();
            String log = read(err);
            assertThat(agent.exitValue()).as(log).isEqualTo(143); // the JVM's status for SIGTERM
            assertThat(log).contains("sampling process " + first.pid() + " (Python " + py.version())
                    .contains("service push_target)").contains("process " + secondPid + " stopped: pushed");
            assertThat(log).doesNotContain("dropped");
            assertThat(second.isAlive()).as("the agent leaves its targets running").isTrue();
            // The agent's own command line holds the pattern: it must not have sampled itself or its parents.
            assertThat(pids()).containsOnly(first.pid(), secondPid);
            assertThat(received()).allSatisfy(r -> assertThat(r.resource()).containsEntry("service.name",
                    "push_target"));
        } finally {
            agent.destroyForcibly().waitFor();
            first.destroyForcibly().waitFor();
            if (second != null) {
                second.destroyForcibly().waitFor();
            }
        }
    }

    @Test
    void agentByPidPushesPprofToPyroscopeAndEndsWithItsTarget() throws Exception {
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 12);
        Process target = startTarget(py, "10");
        try {
            Thread.sleep(400);
            SpyglassCliIT.Result r = run(cli("agent", "-p", Long.toString(target.pid()), "--push", url(""),
                    "--every", "1s", "--push-header", "X-Scope-OrgID: team-a"), 90);
            assertThat(r.exit()).as(r.err()).isZero();
            assertThat(r.err()).contains("process " + target.pid() + " ended: pushed").contains("(pyroscope, ");
            List<Received> got = received();
            assertThat(got).isNotEmpty().allSatisfy(g -> {
                assertThat(g.path()).isEqualTo("/ingest");
                assertThat(g.headers()).containsEntry("x-scope-orgid", "team-a");
                assertThat(g.query()).containsEntry("format", "pprof").containsEntry("sampleRate", "100");
                assertThat(g.query().get("name")).startsWith("push_target{hostname=")
                        .contains(",pid=" + target.pid() + ",python_version=" + py.version() + "}");
                // pprof's own gzip framing
                assertThat(g.body()[0] & 0xff).isEqualTo(0x1f);
                assertThat(g.body()[1] & 0xff).isEqualTo(0x8b);
            });
        } finally {
            target.destroyForcibly().waitFor();
        }
    }

    @Test
    void badPushOptionsAreUsageErrors() throws Exception {
        SpyglassCliIT.Result noUrl = run(cli("agent", "-p", "1"), 30);
        assertThat(noUrl.exit()).isEqualTo(2);
        assertThat(noUrl.err()).contains("--push URL is required");
        SpyglassCliIT.Result badScheme = run(cli("record", "-p", "1", "--push", "ftp://x/"), 30);
        assertThat(badScheme.exit()).isEqualTo(2);
        assertThat(badScheme.err()).contains("http:// or https://");
        SpyglassCliIT.Result badHeader = run(cli("agent", "-p", "1", "--push", "http://h:4040",
                "--push-header", "no colon"), 30);
        assertThat(badHeader.exit()).isEqualTo(2);
        assertThat(badHeader.err()).contains("--push-header must be 'NAME: VALUE'");
    }

    private Set<Long> pids() {
        Set<Long> pids = new HashSet<>();
        for (Received r : received()) {
            if (r.otlp() != null) {
                pids.add(Long.parseLong(r.resource().get("process.pid")));
            }
        }
        return pids;
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "";
        }
    }
}
