package dev.spyglass.internal.export;

import static dev.spyglass.internal.export.SyntheticProfile.*;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadStack;
import dev.spyglass.ThreadState;
import dev.spyglass.export.ProfileMetadata;

/** The Firefox Profiler processed format of the synthetic profile: valid, and the samples, weights, categories,
 * markers and metadata it must carry. */
class GeckoProfileExporterTest {

    static JsonNode write(List<StackSample> samples, GeckoProfileExporter.Builder builder) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GeckoProfileExporter e = builder.build(out)) {
            samples.forEach(e::accept);
        }
        return JsonLinesExporterTest.JSON.readTree(out.toByteArray());
    }

    /** The thread's samples as root-first lists of function names, one list per sample. */
    static List<List<String>> stacks(JsonNode profile, JsonNode thread) {
        JsonNode sh = profile.get("shared");
        List<List<String>> out = new ArrayList<>();
        for (JsonNode s : thread.get("samples").get("stack")) {
            List<String> names = new ArrayList<>();
            for (int i = s.asInt(); ; i -= sh.get("stackTable").get("prefixOffset").get(i).asInt()) {
                names.add(0, funcName(profile, sh.get("stackTable").get("frame").get(i).asInt()));
                if (sh.get("stackTable").get("prefixOffset").get(i).asInt() == 0) {
                    break;
                }
            }
            out.add(names);
        }
        return out;
    }

    static String funcName(JsonNode profile, int frame) {
        JsonNode sh = profile.get("shared");
        int func = sh.get("frameTable").get("func").get(frame).asInt();
        return sh.get("stringArray").get(sh.get("funcTable").get("name").get(func).asInt()).asText();
    }

    static JsonNode thread(JsonNode profile, String name) {
        for (JsonNode t : profile.get("threads")) {
            if (t.get("name").asText().equals(name)) {
                return t;
            }
        }
        throw new AssertionError("no thread " + name);
    }

    @Test
    void theSyntheticProfileIsAValidProcessedProfileWithItsSamplesWeightsAndMetadata() throws Exception {
        JsonNode p = write(samples(), GeckoProfileExporter.builder().metadata(METADATA));
        assertThat(GeckoProcessedFormat.violations(p)).isEmpty();
        assertThat(p.get("meta").get("product").asText()).isEqualTo("Spyglass");
        // the recording starts with the first sample's interval: its time (T0 + 1 µs) less its weight (1 ms)
        long start = T0 + 1000 - WEIGHT;
        assertThat(p.get("meta").get("startTime").asDouble()).isEqualTo(Double.parseDouble(GeckoProfileExporter.millis(start)));
        assertThat(p.get("meta").get("interval").asDouble()).isEqualTo(1.0);
        assertThat(p.get("meta").get("extra").toString()).contains("\"3.11.7\"", "\"wall\"", "python3 x.py --n 3");
        // idle and empty samples dropped by default: the idle worker samples and the frameless Dummy-2 are gone
        JsonNode main = thread(p, "MainThread");
        JsonNode worker = thread(p, "worker-1");
        assertThat(p.get("threads")).hasSize(2);
        assertThat(main.get("samples").get("length").asInt()).isEqualTo(LEAF_9 + LEAF_10 + HELPER_N + ODD_N);
        assertThat(worker.get("samples").get("length").asInt()).isEqualTo(SPIN_N);
        assertThat(main.get("pid").asText()).isEqualTo(Long.toString(PID));
        assertThat(main.get("tid").asLong()).isEqualTo(MAIN_TID);
        assertThat(main.get("samples").get("weightType").asText()).isEqualTo("tracing-ms");
        main.get("samples").get("weight").forEach(w -> assertThat(w.asDouble()).isEqualTo(WEIGHT / 1e6));
        Map<List<String>, Integer> counts = new HashMap<>();
        stacks(p, main).forEach(s -> counts.merge(s, 1, Integer::sum));
        assertThat(counts).containsEntry(List.of("<module>", "main", "Outer.leaf"), LEAF_9 + LEAF_10)
                .containsEntry(List.of("<module>", "main", "helper"), HELPER_N);
        assertThat(main.get("samples").get("time").get(0).asText()).isEqualTo("1");
        // the worker's running samples were taken without the GIL, each between idle ones: a marker each
        JsonNode markers = worker.get("markers");
        assertThat(markers.get("length").asInt()).isEqualTo(SPIN_N);
        assertThat(p.get("shared").get("stringArray").get(markers.get("name").get(0).asInt()).asText())
                .isEqualTo("GIL released");
        assertThat(markers.get("endTime").get(0).asDouble() - markers.get("startTime").get(0).asDouble())
                .isCloseTo(WEIGHT / 1e6, org.assertj.core.api.Assertions.within(1e-6));
        assertThat(main.get("markers").get("length").asInt()).isZero();
    }

    @Test
    void framesGetTheCategoryOfTheirKindAndKeptIdleSamplesTheIdleCategory() throws Exception {
        Frame native1 = Frame.nativeFrame("qsort", "/usr/lib/x86_64-linux-gnu/libc.so.6");
        Frame kernel = Frame.kernelFrame("vfs_read");
        List<StackSample> samples = List.of(
                sample(1, ThreadState.RUNNING, Frame.GARBAGE_COLLECTION, LEAF, MODULE),
                sample(2, ThreadState.RUNNING, kernel, native1, LEAF, MODULE),
                sample(3, ThreadState.IDLE, WAIT, MODULE));
        JsonNode p = write(samples, GeckoProfileExporter.builder().includeIdle(true));
        assertThat(GeckoProcessedFormat.violations(p)).isEmpty();
        JsonNode sh = p.get("shared");
        JsonNode categories = p.get("meta").get("categories");
        Map<String, String> categoryOf = new HashMap<>();
        for (int f = 0; f < sh.get("frameTable").get("length").asInt(); f++) {
            categoryOf.merge(funcName(p, f),
                    categories.get(sh.get("frameTable").get("category").get(f).asInt()).get("name").asText(),
                    (a, b) -> a + "," + b);
        }
        assertThat(categoryOf).containsEntry("<GC>", "GC").containsEntry("Outer.leaf", "Python")
                .containsEntry("qsort", "Native").containsEntry("vfs_read", "Kernel")
                .containsEntry("Condition.wait", "Idle").containsEntry("<module>", "Python");
        assertThat(categories.get(GeckoSharedTables.IDLE).get("color").asText()).isEqualTo("transparent");
        // a native or kernel func belongs to its library's resource, which the profiler shows as library!symbol
        Map<String, String> resourceOf = new HashMap<>();
        for (int f = 0; f < sh.get("funcTable").get("length").asInt(); f++) {
            int r = sh.get("funcTable").get("resource").get(f).asInt();
            resourceOf.put(sh.get("stringArray").get(sh.get("funcTable").get("name").get(f).asInt()).asText(),
                    r < 0 ? "" : sh.get("stringArray").get(sh.get("resourceTable").get("name").get(r).asInt()).asText());
        }
        assertThat(resourceOf).containsEntry("qsort", "libc.so.6").containsEntry("vfs_read", "[kernel]")
                .containsEntry("Outer.leaf", "");
        assertThat(p.get("meta").get("usesOnlyOneStackType").asBoolean()).isFalse();
        assertThat(p.get("meta").get("stackwalk").asInt()).isEqualTo(1);
    }

    @Test
    void theFirefoxProfilersOwnCodeShowsEachCategoryAndTheMarkers(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        TestTools.assumeNodePackages(FirefoxProfilerCli.PACKAGE);
        List<StackSample> samples = new ArrayList<>(samples());
        Frame native1 = Frame.nativeFrame("qsort", "/usr/lib/x86_64-linux-gnu/libc.so.6");
        for (int i = 0; i < 4; i++) {
            samples.add(sample(1000 + 3 * i, ThreadState.RUNNING, Frame.GARBAGE_COLLECTION, LEAF, MODULE));
            samples.add(sample(1001 + 3 * i, ThreadState.RUNNING, Frame.kernelFrame("vfs_read"), native1, LEAF, MODULE));
            samples.add(sample(1002 + 3 * i, ThreadState.IDLE, WAIT, MODULE));
        }
        java.nio.file.Path file = dir.resolve("synthetic.gecko.json");
        try (GeckoProfileExporter e = GeckoProfileExporter.builder().metadata(METADATA).includeIdle(true).build(file)) {
            samples.forEach(e::accept);
        }
        try (FirefoxProfilerCli profiler = FirefoxProfilerCli.load(file, dir.resolve("sessions"))) {
            JsonNode main = profiler.query("thread", "samples", "--thread", "t-0", "--include-idle");
            assertThat(main.get("friendlyThreadName").asText()).isEqualTo("MainThread");
            List<String> categories = new ArrayList<>();
            main.get("categoryBreakdown").get("categories").forEach(c -> categories.add(c.get("name").asText()));
            assertThat(categories).contains("Python", "GC", "Kernel", "Idle");
            JsonNode markers = profiler.query("thread", "markers", "--thread", "t-1");
            assertThat(markers.get("friendlyThreadName").asText()).isEqualTo("worker-1");
            assertThat(markers.get("totalMarkerCount").asInt()).isEqualTo(SPIN_N);
        }
    }

    @Test
    void withoutWeightsSamplesAreCountedAndWithoutMetadataTheFileIsStillValid() throws Exception {
        List<StackSample> samples = List.of(new StackSample(new ThreadStack(7, 7, 7, "main", 0, ThreadState.RUNNING,
                null, List.of(LEAF)), T0, 0));
        JsonNode p = write(samples, GeckoProfileExporter.builder().metadata(ProfileMetadata.UNKNOWN));
        assertThat(GeckoProcessedFormat.violations(p)).isEmpty();
        assertThat(p.get("threads").get(0).get("samples").get("weightType").asText()).isEqualTo("samples");
        assertThat(p.get("threads").get(0).get("samples").get("weight").isNull()).isTrue();
        assertThat(p.get("threads").get(0).get("isMainThread").asBoolean()).isTrue();
        assertThat(GeckoProcessedFormat.violations(write(List.of(), GeckoProfileExporter.builder()))).isEmpty();
    }

    /** Memory modes weigh bytes: the profiler's weight type {@code bytes}, the byte counts as weights. */
    @Test
    void memoryModeSamplesWeighBytes() throws Exception {
        List<StackSample> samples = List.of(new StackSample(new ThreadStack(7, 7, 7, "main", 0, ThreadState.RUNNING,
                true, List.of(LEAF)), T0, 409_600), new StackSample(new ThreadStack(7, 7, 7, "main", 0,
                        ThreadState.RUNNING, true, List.of(LEAF, Frame.MEMORY_RELEASED)), T0 + 1_000_000, 8192));
        JsonNode p = write(samples, GeckoProfileExporter.builder().metadata(METADATA.toBuilder().mode("memory").build()));
        assertThat(GeckoProcessedFormat.violations(p)).isEmpty();
        JsonNode s = p.get("threads").get(0).get("samples");
        assertThat(s.get("weightType").asText()).isEqualTo("bytes");
        assertThat(s.get("weight").toString()).isEqualTo("[409600,8192]");
    }

    @Test
    void millisecondsAreExact() {
        assertThat(GeckoProfileExporter.millis(1_500_000)).isEqualTo("1.5");
        assertThat(GeckoProfileExporter.millis(3)).isEqualTo("0.000003");
        assertThat(GeckoProfileExporter.millis(-2_000_000)).isEqualTo("-2");
        assertThat(GeckoProfileExporter.millis(0)).isEqualTo("0");
    }

    private static StackSample sample(int i, ThreadState state, Frame... innermostFirst) {
        return new StackSample(new ThreadStack(PID, MAIN_TID, MAIN_TID, "MainThread", 0, state, Boolean.TRUE,
                List.of(innermostFirst)), T0 + i * WEIGHT, WEIGHT);
    }
}
