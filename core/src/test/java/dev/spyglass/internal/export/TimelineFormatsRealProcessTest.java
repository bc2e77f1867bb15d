package dev.spyglass.internal.export;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadState;
import dev.spyglass.internal.export.RealProcessExportTest.Recording;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;
import dev.spyglass.testsupport.PythonInterpreters;

/**
 * The timeline formats (Firefox Profiler's processed format, the Trace Event Format) written from samples of a real
 * Python process ({@link RealProcessExportTest#SCRIPT}: the main thread in {@code hot_leaf}, a second one sleeping)
 * and read back by checks independent of the writers; the trace is also imported by speedscope's web app.
 */
@Execution(ExecutionMode.CONCURRENT)
@ResourceLock("cpu-bound-target")
class TimelineFormatsRealProcessTest {

    @TempDir
    Path dir;

    @ForEachPython
    void geckoAndChromeFilesAreValidAndShowTheHotFunctionOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Recording r = RealProcessExportTest.record(py, dir, 3);
        List<StackSample> kept = r.samples().stream()
                .filter(s -> !s.frames().isEmpty() && s.state() != ThreadState.IDLE).toList();

        ByteArrayOutputStream gecko = new ByteArrayOutputStream();
        RealProcessExportTest.feed(GeckoProfileExporter.builder().metadata(r.metadata()).build(gecko), r);
        JsonNode p = JsonLinesExporterTest.JSON.readTree(gecko.toByteArray());
        assertThat(GeckoProcessedFormat.violations(p)).isEmpty();
        // every kept sample once, with its weight; hot_leaf has the most self time
        Map<String, Double> self = new HashMap<>();
        double total = 0;
        int samples = 0;
        for (JsonNode t : p.get("threads")) {
            List<List<String>> stacks = GeckoProfileExporterTest.stacks(p, t);
            samples += stacks.size();
            for (int i = 0; i < stacks.size(); i++) {
                double w = t.get("samples").get("weight").get(i).asDouble();
                self.merge(stacks.get(i).get(stacks.get(i).size() - 1), w, Double::sum);
                total += w;
            }
        }
        assertThat(samples).isEqualTo(kept.size());
        assertThat(total).isCloseTo(kept.stream().mapToLong(StackSample::weightNanos).sum() / 1e6,
                org.assertj.core.api.Assertions.within(1e-3));
        assertThat(self.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey())
                .isEqualTo("hot_leaf");
        assertThat(p.get("meta").get("extra").toString()).contains(r.metadata().pythonVersion());
        // a "GIL released" marker exactly when some sample in Python code was taken without the GIL
        boolean released = r.samples().stream().anyMatch(s -> Boolean.FALSE.equals(s.gilHeld())
                && s.frames().stream().anyMatch(f -> f.kind() == Frame.FrameKind.PYTHON));
        int markers = 0;
        for (JsonNode t : p.get("threads")) {
            markers += t.get("markers").get("length").asInt();
        }
        assertThat(markers > 0).as("markers %d, a release seen %s", markers, released).isEqualTo(released);

        ByteArrayOutputStream chrome = new ByteArrayOutputStream();
        RealProcessExportTest.feed(ChromeTraceExporter.builder().metadata(r.metadata()).build(chrome), r);
        ChromeTraceExporterTest.Trace trace = ChromeTraceExporterTest.check(chrome.toByteArray());
        String main = r.metadata().pid() + "/" + r.metadata().pid();
        Map<String, Double> onMain = trace.durations().get(main);
        assertThat(onMain).as("slices of the main thread %s", trace.durations().keySet()).isNotNull();
        // hot_leaf is most of the main thread's run (driver calls nothing else but time.time)
        assertThat(onMain.get("hot_leaf")).isGreaterThan(onMain.get("driver") * 0.5);
        assertThat(trace.threadNames().get(main)).isNotEmpty();
    }

    @Test
    void theFirefoxProfilersOwnCodeLoadsTheProfileAndTheTraceOfARealProcess() throws Exception {
        TestTools.assumeNodePackages(FirefoxProfilerCli.PACKAGE);
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 11);
        Recording r = RealProcessExportTest.record(py, dir, 3);
        Path file = dir.resolve("real.gecko.json");
        RealProcessExportTest.feed(GeckoProfileExporter.builder().metadata(r.metadata()).build(file), r);
        try (FirefoxProfilerCli profiler = FirefoxProfilerCli.load(file, dir.resolve("sessions"))) {
            JsonNode threads = profiler.query("thread", "list").get("threads");
            String mainHandle = null;
            for (JsonNode t : threads) {
                assertThat(t.get("pid").asText()).isEqualTo(Long.toString(r.metadata().pid()));
                if (t.get("tid").asLong() == r.metadata().pid()) {
                    mainHandle = t.get("threadHandle").asText();
                }
            }
            assertThat(mainHandle).as("the main thread among %s", threads).isNotNull();
            JsonNode samples = profiler.query("thread", "samples", "--thread", mainHandle);
            assertThat(samples.get("weightType").asText()).isEqualTo("tracing-ms");
            assertThat(samples.get("topFunctionsBySelf").get(0).get("name").asText()).as("%s", samples)
                    .isEqualTo("hot_leaf");
            assertThat(samples.get("categoryBreakdown").get("categories").get(0).get("name").asText())
                    .isEqualTo("Python");
            // the profiler's total for the thread is its samples' measured time, in ms
            double weight = r.samples().stream().filter(s -> s.nativeThreadId() == r.metadata().pid()
                    && !s.frames().isEmpty() && s.state() != ThreadState.IDLE).mapToLong(StackSample::weightNanos)
                    .sum() / 1e6;
            assertThat(samples.get("categoryBreakdown").get("totalSamples").asDouble())
                    .isCloseTo(weight, org.assertj.core.api.Assertions.within(0.01));
            int released = 0;
            for (JsonNode t : threads) {
                for (JsonNode type : profiler.query("thread", "markers", "--thread", t.get("threadHandle").asText())
                        .get("byType")) {
                    assertThat(type.get("markerName").asText()).isEqualTo("GIL released");
                    assertThat(type.get("isInterval").asBoolean()).isTrue();
                    released += type.get("count").asInt();
                }
            }
            assertThat(released).isEqualTo(p(file).get("threads").findValues("markers").stream()
                    .mapToInt(m -> m.get("length").asInt()).sum());
        }

        // The profiler's importer of the Trace Event Format turns the slices into interval markers, by name.
        Path trace = dir.resolve("real.trace.json");
        RealProcessExportTest.feed(ChromeTraceExporter.builder().metadata(r.metadata()).build(trace), r);
        try (FirefoxProfilerCli profiler = FirefoxProfilerCli.load(trace, dir.resolve("trace-sessions"))) {
            JsonNode main = null;
            for (JsonNode t : profiler.query("thread", "list").get("threads")) {
                // this importer names a thread "pid:tid"
                if (t.get("tid").asText().equals(r.metadata().pid() + ":" + r.metadata().pid())) {
                    main = t;
                }
            }
            assertThat(main).isNotNull();
            assertThat(main.get("name").asText()).isEqualTo("MainThread");
            List<String> sliceNames = new java.util.ArrayList<>();
            profiler.query("thread", "markers", "--thread", main.get("threadHandle").asText()).get("byType")
                    .forEach(type -> sliceNames.add(type.get("markerName").asText()));
            assertThat(sliceNames).contains("hot_leaf", "driver", "<module>");
        }
    }

    private static JsonNode p(Path file) throws java.io.IOException {
        return JsonLinesExporterTest.JSON.readTree(file.toFile());
    }

    @Test
    void speedscopeImportsTheTraceOfARealProcess() throws Exception {
        TestTools.assumeNodePackages("speedscope");
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 11);
        Recording r = RealProcessExportTest.record(py, dir, 3);
        RealProcessExportTest.feed(ChromeTraceExporter.builder().metadata(r.metadata())
                .build(dir.resolve("real.trace.json")), r);
        try (HeadlessChromium chromium = HeadlessChromium.start(1400, 900)) {
            HttpServer server = SpeedscopeImportTest.serve(dir);
            try {
                Map<String, String> rows = SpeedscopeImportTest.sandwich(chromium, server, "real.trace.json");
                // speedscope names a trace's frame by its name and args ({"file":...,"line":...}), the line being
                // the one the slice began at: hot_leaf's rows together must hold the most self time.
                Map<String, Double> byFunction = new HashMap<>();
                rows.forEach((name, selfTime) -> byFunction.merge(name.split(" ")[0], seconds(selfTime), Double::sum));
                assertThat(byFunction.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey())
                        .as("heaviest function of %s", rows).isEqualTo("hot_leaf");
                assertThat(chromium.errors()).isEmpty();
            } finally {
                server.stop(0);
            }
        }
        assertThat(Files.size(dir.resolve("real.trace.json"))).isPositive();
    }

    /** speedscope's time text ({@code 2.20s}, {@code 804.40ms}, {@code 13µs}, {@code 0.00ns}) in seconds. */
    static double seconds(String text) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("([0-9.,]+)\\s*(ns|µs|us|ms|s|min)").matcher(text);
        assertThat(m.matches()).as("a time: %s", text).isTrue();
        double v = Double.parseDouble(m.group(1).replace(",", ""));
        return v * switch (m.group(2)) {
            case "ns" -> 1e-9;
            case "µs", "us" -> 1e-6;
            case "ms" -> 1e-3;
            case "min" -> 60;
            default -> 1;
        };
    }
}
