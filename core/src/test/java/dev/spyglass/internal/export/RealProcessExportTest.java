package dev.spyglass.internal.export;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.perftools.profiles.ProfileProto.Profile;

import dev.spyglass.Sampler;
import dev.spyglass.SamplingSession;
import dev.spyglass.SamplingStats;
import dev.spyglass.StackSample;
import dev.spyglass.export.Exporter;
import dev.spyglass.export.ProfileMetadata;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;
import dev.spyglass.testsupport.PythonInterpreters;

/**
 * Every format written from samples of a real Python process and read back by its independent decoder; the
 * known hot function must come out on top in each.
 */
@Execution(ExecutionMode.CONCURRENT)
@ResourceLock("cpu-bound-target")
class RealProcessExportTest {

    /** Runs for argv[1] seconds: the main thread spends its time in hot_leaf, a second thread sleeps. */
    static final String SCRIPT = String.join("\n",
            "import sys, threading, time",
            "def hot_leaf(n):",
            "    s = 0",
            "    for i in range(n):",
            "        s += i * i",
            "    return s",
            "def driver(deadline):",
            "    while time.time() < deadline:",
            "        hot_leaf(20000)",
            "def napper(deadline):",
            "    while time.time() < deadline:",
            "        time.sleep(0.01)",
            "deadline = time.time() + float(sys.argv[1])",
            "t = threading.Thread(target=napper, args=(deadline,))",
            "t.start()",
            "driver(deadline)",
            "t.join()",
            "");

    @TempDir
    Path dir;

    record Recording(List<StackSample> samples, ProfileMetadata metadata, Path script) {
    }

    /**
     * Launches the script for {@code seconds} (a few: attaching to an interpreter that is still starting can take
     * a second on a loaded machine) and samples it until it exits.
     */
    static Recording record(PythonInterpreter py, Path dir, double seconds) throws Exception {
        Path script = dir.resolve("hot.py");
        Files.writeString(script, SCRIPT);
        Sampler sampler = Sampler.builder().interval(Duration.ofMillis(1)).build();
        Instant start = Instant.now();
        List<StackSample> samples = new ArrayList<>();
        SamplingSession session = sampler.launch(py.processBuilder(script.toString(), Double.toString(seconds))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD));
        SamplingStats stats;
        try (session) {
            session.forEach(samples::add);
            stats = session.stats();
        } finally {
            session.process().orElseThrow().destroyForcibly();
        }
        ProfileMetadata metadata = ProfileMetadata.builder().command(py.commandLine(script.toString()))
                .pid(session.pid()).pythonVersion(session.version().toString()).mode("wall")
                .interval(Duration.ofMillis(1)).startEpochNanos(start.getEpochSecond() * 1_000_000_000L)
                .duration(stats.elapsed()).samples(stats.samples()).tornSamples(stats.tornSamples())
                .droppedSamples(stats.droppedSamples()).achievedRate(stats.achievedRate()).build();
        assertThat(samples).as("samples of %s", py).hasSizeGreaterThan(100);
        return new Recording(samples, metadata, script);
    }

    static void feed(Exporter exporter, Recording r) throws Exception {
        try (exporter) {
            r.samples().forEach(exporter::accept);
        }
    }

    @ForEachPython
    void everyFormatDecodesWithTheHotFunctionOnTopOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Recording r = record(py, dir, 3);
        String file = r.script().toString();

        // collapsed: the heaviest stack ends in hot_leaf, under driver and <module>, on the main thread
        ByteArrayOutputStream collapsed = new ByteArrayOutputStream();
        feed(CollapsedExporter.builder().lineNumbers(false).metadata(r.metadata()).build(collapsed), r);
        Map<List<String>, Long> stacks = FoldedStacks.parse(collapsed.toString(StandardCharsets.UTF_8));
        List<String> heaviest = stacks.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
        assertThat(heaviest.subList(2, heaviest.size())).containsExactly("<module> (" + file + ")",
                "driver (" + file + ")", "hot_leaf (" + file + ")");
        assertThat(heaviest.get(0)).isEqualTo("process " + r.metadata().pid());

        // austin: every sample, metadata, hot_leaf innermost in most main-thread samples
        ByteArrayOutputStream austin = new ByteArrayOutputStream();
        feed(AustinExporter.builder().metadata(r.metadata()).build(austin), r);
        AustinFormat.Profile a = AustinFormat.parse(austin.toString(StandardCharsets.UTF_8));
        assertThat(a.samples()).hasSize(r.samples().size());
        assertThat(a.header()).containsEntry("python", r.metadata().pythonVersion()).containsEntry("mode", "wall");
        long austinHot = a.samples().stream().filter(s -> !s.rootFirst().isEmpty()
                && s.rootFirst().get(s.rootFirst().size() - 1).function().equals("hot_leaf")).count();
        assertThat(austinHot).isGreaterThan(a.samples().size() / 4);

        // jsonl: one strict JSON object per sample
        ByteArrayOutputStream jsonl = new ByteArrayOutputStream();
        feed(JsonLinesExporter.builder().build(jsonl), r);
        String[] lines = JsonLinesExporterTest.sampleLines(jsonl.toString(StandardCharsets.UTF_8));
        assertThat(lines).hasSize(r.samples().size());
        long jsonHot = 0;
        for (String line : lines) {
            JsonNode o = JsonLinesExporterTest.JSON.readTree(line);
            assertThat(o.get("pid").asLong()).isEqualTo(r.metadata().pid());
            if (o.get("frames").size() > 0 && o.get("frames").get(0).get("function").asText().equals("hot_leaf")) {
                jsonHot++;
                assertThat(o.get("frames").get(0).get("file").asText()).isEqualTo(file);
            }
        }
        assertThat(jsonHot).isEqualTo(austinHot);

        // speedscope: schema-valid (when node is installed); the main thread's profile holds hot_leaf
        Path speedscope = dir.resolve("p.speedscope.json");
        feed(SpeedscopeExporter.builder().metadata(r.metadata()).build(speedscope), r);
        JsonNode ss = JsonLinesExporterTest.JSON.readTree(speedscope.toFile());
        assertThat(ss.get("shared").get("frames").toString()).contains("hot_leaf (" + file.replace("\\", "\\\\"));
        if (TestTools.onPath("node") && Files.isDirectory(TestTools.nodeModules().resolve("ajv"))) {
            assertThat(SpeedscopeSchema.validate(speedscope).stdout().strip()).isEqualTo("valid");
        }

        // pprof: decodes; hot_leaf has the largest self value
        ByteArrayOutputStream pprof = new ByteArrayOutputStream();
        feed(PprofExporter.builder().metadata(r.metadata()).build(pprof), r);
        Profile p = PprofExporterTest.decode(pprof.toByteArray());
        List<List<String>> pstacks = PprofExporterTest.stacks(p);
        Map<String, Long> self = new java.util.HashMap<>();
        for (int i = 0; i < pstacks.size(); i++) {
            List<String> st = pstacks.get(i);
            String leaf = st.get(st.size() - 1);
            self.merge(leaf.substring(0, leaf.indexOf(' ')), p.getSample(i).getValue(0), Long::sum);
        }
        assertThat(self.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey())
                .isEqualTo("hot_leaf");
        assertThat(p.getPeriod()).isEqualTo(1_000_000);

        // html: the embedded data's heaviest leaf is hot_leaf
        Path html = dir.resolve("p.html");
        feed(HtmlFlameGraphExporter.builder().metadata(r.metadata()).build(html), r);
        Matcher m = Pattern.compile("<script id=\"data\" type=\"application/json\">(.*?)</script>", Pattern.DOTALL)
                .matcher(Files.readString(html));
        assertThat(m.find()).isTrue();
        JsonNode data = JsonLinesExporterTest.JSON.readTree(m.group(1));
        assertThat(data.get("names").get(heaviestLeaf(data.get("tree"))).asText()).isEqualTo("hot_leaf");
    }

    /** The name index of the leaf node with the largest value. */
    static int heaviestLeaf(JsonNode node) {
        int[] best = {-1};
        long[] bestValue = {-1};
        List<JsonNode> todo = new ArrayList<>(List.of(node));
        while (!todo.isEmpty()) {
            JsonNode n = todo.remove(todo.size() - 1);
            if (n.get(3).isEmpty() && n.get(2).asLong() > bestValue[0]) {
                bestValue[0] = n.get(2).asLong();
                best[0] = n.get(0).asInt();
            }
            n.get(3).forEach(todo::add);
        }
        return best[0];
    }

    @Test
    void theHtmlOfARealProfileWorksInTheBrowserAndSpeedscopeImportsItsFiles() throws Exception {
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 11);
        Recording r = record(py, dir, 3);
        Path html = dir.resolve("real.html");
        feed(HtmlFlameGraphExporter.builder().metadata(r.metadata()).build(html), r);
        feed(CollapsedExporter.builder().build(dir.resolve("real.collapsed")), r);
        feed(PprofExporter.builder().metadata(r.metadata()).build(dir.resolve("real.pb.gz")), r);

        try (HeadlessChromium chromium = HeadlessChromium.start(1400, 900)) {
            chromium.open(html.toUri().toString());
            assertThat(chromium.eval("document.querySelector('[data-field=python]').textContent").asText())
                    .isEqualTo(r.metadata().pythonVersion());
            JsonNode hot = HtmlFlameGraphExporterTest.box(chromium, "hot_leaf");
            assertThat(hot).as("a hot_leaf box").isNotNull();
            double width = chromium.eval("document.getElementById('graph').clientWidth").asDouble();
            // hot_leaf is split by line (the loop header and its body): together they are most of the graph
            assertThat(hot.get("total").asDouble()).isGreaterThan(width * 0.2);
            JsonNode driver = HtmlFlameGraphExporterTest.box(chromium, "driver");
            chromium.click(driver.get("cx").asDouble(), driver.get("cy").asDouble());
            // Read the width again: a zoomed graph is shorter, and the page's scroll bar may go with it.
            double zoomedWidth = chromium.eval("document.getElementById('graph').clientWidth").asDouble();
            assertThat(HtmlFlameGraphExporterTest.box(chromium, "driver").get("w").asDouble())
                    .isCloseTo(zoomedWidth, org.assertj.core.api.Assertions.within(2.0));
            assertThat(chromium.eval("document.getElementById('crumbs').textContent").asText()).endsWith("› driver");
            assertThat(chromium.errors()).isEmpty();

            com.sun.net.httpserver.HttpServer server = SpeedscopeImportTest.serve(dir);
            try {
                Map<String, String> collapsed = SpeedscopeImportTest.sandwich(chromium, server, "real.collapsed");
                String hottest = collapsed.entrySet().stream()
                        .max(Comparator.comparingLong(e -> Long.parseLong(e.getValue().replace(",", "")))).orElseThrow()
                        .getKey();
                assertThat(hottest).as("hottest of the sandwich rows %s", collapsed).startsWith("hot_leaf (" + r.script() + ":");
                Map<String, String> pprof = SpeedscopeImportTest.sandwich(chromium, server, "real.pb.gz");
                assertThat(pprof).containsKey("hot_leaf");
                assertThat(pprof.get("hot_leaf").toLowerCase(Locale.ROOT)).matches("[0-9.]+(ms|s)");
                assertThat(chromium.errors()).isEmpty();
            } finally {
                server.stop(0);
            }
        }
    }
}
