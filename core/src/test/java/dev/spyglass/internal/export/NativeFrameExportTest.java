package dev.spyglass.internal.export;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.perftools.profiles.ProfileProto.Function;
import com.google.perftools.profiles.ProfileProto.Location;
import com.google.perftools.profiles.ProfileProto.Mapping;
import com.google.perftools.profiles.ProfileProto.Profile;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadStack;
import dev.spyglass.ThreadState;
import dev.spyglass.elf.ElfFile;
import dev.spyglass.export.Exporter;

/**
 * Merged stacks (native frames between Python frames, a pseudo-frame at a root) through every format, read back
 * with the same decoders the formats' own tests use: a native frame is {@code function (library)} where a format
 * names frames in one string, keeps its object's path as its file, and never merges with a Python frame.
 */
class NativeFrameExportTest {

    /** This JVM: its libc is real (for the build-id) and its {@code /proc/<pid>/root} readable. */
    static final long PID = ProcessHandle.current().pid();
    static final String LIBC = mappedLibc();
    static final String EXT = "/usr/lib/python3/dist-packages/numpy/_core/_multiarray_umath.cpython-312-x86_64-linux-gnu.so";
    static final String CXX_LIB = "/opt/app/lib/libcore.so";
    static final String CXX_SYMBOL = "std::vector<int, std::allocator<int> >::push_back(int const&)";
    static final String GONE = "/nonexistent/libgone.so.1";

    static final Frame QSORT = Frame.nativeFrame("qsort", LIBC);
    static final Frame SORT = Frame.nativeFrame("npy_quicksort", EXT);
    static final Frame LEAF = Frame.python("leaf", "Outer.leaf", "/app/x.py", 9, 8);
    static final Frame EVAL = Frame.nativeFrame("_PyEval_EvalFrameDefault", "/usr/lib/x86_64-linux-gnu/libpython3.12.so.1.0");
    static final Frame MODULE = Frame.python("<module>", "<module>", "/app/x.py", 30, 1);
    static final Frame PUSH = Frame.nativeFrame(CXX_SYMBOL, CXX_LIB);
    static final Frame GONE_FN = Frame.nativeFrame("libgone.so.1+0x1f40", GONE);
    static final Frame JIT = Frame.nativeFrame("[anonymous]+0x40", "[anonymous]");
    static final Frame DEL = Frame.python("__del__", "SlowDel.__del__", "/app/x.py", 12, 11);
    static final Frame FREE = Frame.nativeFrame("free", LIBC);
    /** A Python function named like a C one, in a file named like the library: must stay apart from {@link #QSORT}. */
    static final Frame PY_QSORT = Frame.python("qsort", "qsort", "/app/libc.so.6", 3, 2);

    static final String T = "thread 1240 (MainThread)";

    @TempDir
    Path dir;

    static String mappedLibc() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                int slash = line.indexOf('/');
                if (slash > 0 && line.endsWith("/libc.so.6")) {
                    return line.substring(slash);
                }
            }
        } catch (java.io.IOException e) {
            // fall through
        }
        return "/usr/lib/x86_64-linux-gnu/libc.so.6";
    }

    static StackSample sample(long ts, Frame... innermostFirst) {
        ThreadStack t = new ThreadStack(PID, 1240, 0x7f00, "MainThread", 0, ThreadState.RUNNING, Boolean.TRUE,
                List.of(innermostFirst));
        return new StackSample(t, ts, 1_000_000L);
    }

    /** 3 in qsort under numpy, 2 in a C++ function, 1 each in an unreadable library and anonymous code, 2 at shutdown. */
    static List<StackSample> samples() {
        List<StackSample> l = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            l.add(sample(1_000_000L * (l.size() + 1), QSORT, SORT, LEAF, EVAL, MODULE));
        }
        l.add(sample(1_000_000L * (l.size() + 1), PUSH, EVAL, MODULE));
        l.add(sample(1_000_000L * (l.size() + 1), PUSH, EVAL, MODULE));
        l.add(sample(1_000_000L * (l.size() + 1), GONE_FN, LEAF, EVAL, MODULE));
        l.add(sample(1_000_000L * (l.size() + 1), JIT, EVAL, MODULE));
        l.add(sample(1_000_000L * (l.size() + 1), PY_QSORT, MODULE));
        l.add(sample(1_000_000L * (l.size() + 1), FREE, DEL, Frame.INTERPRETER_SHUTDOWN));
        l.add(sample(1_000_000L * (l.size() + 1), Frame.INTERPRETER_SHUTDOWN));
        return l;
    }

    static void feed(Exporter e) throws Exception {
        try (e) {
            samples().forEach(e::accept);
        }
    }

    @Test
    void collapsedNamesANativeFrameByFunctionAndLibrary() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        feed(CollapsedExporter.builder().build(out));
        Map<List<String>, Long> stacks = FoldedStacks.parse(out.toString(StandardCharsets.UTF_8));

        String p = "process " + PID;
        String eval = "_PyEval_EvalFrameDefault (libpython3.12.so.1.0)";
        assertThat(stacks).containsEntry(List.of(p, T, "<module> (/app/x.py:30)", eval, "Outer.leaf (/app/x.py:9)",
                "npy_quicksort (_multiarray_umath.cpython-312-x86_64-linux-gnu.so)", "qsort (libc.so.6)"), 3L)
                .containsEntry(List.of(p, T, "<module> (/app/x.py:30)", eval, CXX_SYMBOL + " (libcore.so)"), 2L)
                .containsEntry(List.of(p, T, "<module> (/app/x.py:30)", eval, "Outer.leaf (/app/x.py:9)",
                        "libgone.so.1+0x1f40 (libgone.so.1)"), 1L)
                .containsEntry(List.of(p, T, "<module> (/app/x.py:30)", eval, "[anonymous]+0x40 ([anonymous])"), 1L)
                .containsEntry(List.of(p, T, "<module> (/app/x.py:30)", "qsort (/app/libc.so.6:3)"), 1L)
                .containsEntry(List.of(p, T, "<interpreter shutdown>", "SlowDel.__del__ (/app/x.py:12)",
                        "free (libc.so.6)"), 1L)
                .containsEntry(List.of(p, T, "<interpreter shutdown>"), 1L)
                .hasSize(7);

        // Without line numbers Python frames show their file; native frames are unchanged.
        ByteArrayOutputStream noLines = new ByteArrayOutputStream();
        feed(CollapsedExporter.builder().lineNumbers(false).build(noLines));
        assertThat(FoldedStacks.parse(noLines.toString(StandardCharsets.UTF_8))).containsKey(List.of(p, T,
                "<interpreter shutdown>", "SlowDel.__del__ (/app/x.py)", "free (libc.so.6)"));
    }

    @Test
    void austinWritesObjectPathSymbolAndLineZero() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        feed(AustinExporter.builder().build(out));
        AustinFormat.Profile a = AustinFormat.parse(out.toString(StandardCharsets.UTF_8));

        assertThat(a.samples()).hasSize(10);
        assertThat(a.samples().get(0).rootFirst()).containsExactly(new AustinFormat.Frame("/app/x.py", "<module>", 30),
                new AustinFormat.Frame("/usr/lib/x86_64-linux-gnu/libpython3.12.so.1.0", "_PyEval_EvalFrameDefault", 0),
                new AustinFormat.Frame("/app/x.py", "Outer.leaf", 9), new AustinFormat.Frame(EXT, "npy_quicksort", 0),
                new AustinFormat.Frame(LIBC, "qsort", 0));
        // A C++ symbol's colons become '_' so that the frame still splits at its last two colons.
        assertThat(a.samples().get(3).rootFirst().get(2)).isEqualTo(new AustinFormat.Frame(CXX_LIB,
                "std__vector<int, std__allocator<int> >__push_back(int const&)", 0));
        assertThat(a.samples().get(6).rootFirst().get(2)).isEqualTo(new AustinFormat.Frame("[anonymous]",
                "[anonymous]+0x40", 0));
        assertThat(a.samples().get(8).rootFirst()).containsExactly(new AustinFormat.Frame("", "<interpreter shutdown>", 0),
                new AustinFormat.Frame("/app/x.py", "SlowDel.__del__", 12), new AustinFormat.Frame(LIBC, "free", 0));
    }

    @Test
    void jsonLinesMarksEveryFrameWithItsKindAndNativeOnesWithTheirLibrary() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        feed(JsonLinesExporter.builder().build(out));
        String[] lines = JsonLinesExporterTest.sampleLines(out.toString(StandardCharsets.UTF_8));
        assertThat(lines).hasSize(10);

        JsonNode frames = JsonLinesExporterTest.JSON.readTree(lines[0]).get("frames");
        JsonNode qsort = frames.get(0);
        assertThat(qsort.get("kind").asText()).isEqualTo("native");
        assertThat(qsort.get("function").asText()).isEqualTo("qsort");
        assertThat(qsort.get("qualname").asText()).isEqualTo("qsort");
        assertThat(qsort.get("library").asText()).isEqualTo("libc.so.6");
        assertThat(qsort.get("file").asText()).isEqualTo(LIBC);
        assertThat(qsort.get("line").asInt()).isZero();
        JsonNode leaf = frames.get(2);
        assertThat(leaf.get("kind").asText()).isEqualTo("python");
        assertThat(leaf.get("qualname").asText()).isEqualTo("Outer.leaf");
        assertThat(leaf.get("line").asInt()).isEqualTo(9);
        assertThat(leaf.has("library")).as("a Python frame has no library: %s", leaf).isFalse();

        JsonNode shutdown = JsonLinesExporterTest.JSON.readTree(lines[8]).get("frames");
        assertThat(shutdown.get(0).get("library").asText()).isEqualTo("libc.so.6");
        assertThat(shutdown.get(2).get("kind").asText()).isEqualTo("pseudo");
        assertThat(shutdown.get(2).has("library")).isFalse();
        JsonNode cxx = JsonLinesExporterTest.JSON.readTree(lines[3]).get("frames").get(0);
        assertThat(cxx.get("function").asText()).isEqualTo(CXX_SYMBOL);
        assertThat(cxx.get("library").asText()).isEqualTo("libcore.so");
    }

    @Test
    void speedscopeFramesCarryTheObjectPathAndPassTheSchema() throws Exception {
        Path file = dir.resolve("p.speedscope.json");
        feed(SpeedscopeExporter.builder().build(file));
        JsonNode frames = JsonLinesExporterTest.JSON.readTree(file.toFile()).get("shared").get("frames");

        Map<String, JsonNode> byName = new HashMap<>();
        frames.forEach(f -> assertThat(byName.put(f.get("name").asText(), f)).as("frame named twice: %s", f).isNull());
        JsonNode qsort = byName.get("qsort (libc.so.6)");
        assertThat(qsort).as("frames %s", frames).isNotNull();
        assertThat(qsort.get("file").asText()).isEqualTo(LIBC);
        assertThat(qsort.has("line")).isFalse();
        assertThat(byName.get(CXX_SYMBOL + " (libcore.so)").get("file").asText()).isEqualTo(CXX_LIB);
        assertThat(byName.get("qsort (/app/libc.so.6:3)").get("line").asInt()).isEqualTo(3);
        assertThat(byName.get("<interpreter shutdown>").has("file")).isFalse();
        assertThat(byName).hasSize(12);

        TestTools.Result r = SpeedscopeSchema.validate(file);
        assertThat(r.stdout().strip()).isEqualTo("valid");
    }

    @Test
    void pprofGivesNativeFramesFunctionsOnMappingsWithBuildIds() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        feed(PprofExporter.builder().build(out));
        Profile p = PprofExporterTest.decode(out.toByteArray());

        assertThat(PprofExporterTest.stacks(p)).contains(List.of("<module> /app/x.py:30",
                "_PyEval_EvalFrameDefault /usr/lib/x86_64-linux-gnu/libpython3.12.so.1.0:0", "Outer.leaf /app/x.py:9",
                "npy_quicksort " + EXT + ":0", "qsort " + LIBC + ":0"),
                List.of("<interpreter shutdown> :0", "SlowDel.__del__ /app/x.py:12", "free " + LIBC + ":0"),
                List.of("<module> /app/x.py:30", "qsort /app/libc.so.6:3"));

        Map<Long, Mapping> mappings = new HashMap<>();
        Map<String, Mapping> mappingByFile = new HashMap<>();
        for (Mapping m : p.getMappingList()) {
            assertThat(mappings.put(m.getId(), m)).isNull();
            assertThat(mappingByFile.put(s(p, m.getFilename()), m)).isNull();
            assertThat(m.getHasFunctions()).isTrue();
        }
        assertThat(mappingByFile.keySet()).containsExactlyInAnyOrder(LIBC, EXT, CXX_LIB, GONE, "[anonymous]",
                "/usr/lib/x86_64-linux-gnu/libpython3.12.so.1.0");
        String libcBuildId;
        try (ElfFile libc = ElfFile.open(Path.of(LIBC))) {
            libcBuildId = libc.buildIdHex().orElse("");
        }
        Assumptions.assumeFalse(libcBuildId.isEmpty(), LIBC + " has no build-id");
        assertThat(s(p, mappingByFile.get(LIBC).getBuildId())).isEqualTo(libcBuildId);
        assertThat(s(p, mappingByFile.get(GONE).getBuildId())).isEmpty();
        assertThat(s(p, mappingByFile.get("[anonymous]").getBuildId())).isEmpty();

        Map<Long, Function> functions = new HashMap<>();
        p.getFunctionList().forEach(f -> functions.put(f.getId(), f));
        int nativeLocations = 0;
        for (Location l : p.getLocationList()) {
            Function f = functions.get(l.getLine(0).getFunctionId());
            String name = s(p, f.getName());
            String file = s(p, f.getFilename());
            if (l.getMappingId() != 0) {
                nativeLocations++;
                Mapping m = mappings.get(l.getMappingId());
                assertThat(s(p, m.getFilename())).as("mapping of %s", name).isEqualTo(file);
                assertThat(s(p, f.getSystemName())).as("system_name of %s", name).isEqualTo(name);
                assertThat(l.getLine(0).getLine()).isZero();
            } else {
                // Python and pseudo-frames: no mapping and no system name (pprof would strip "<...>" otherwise).
                assertThat(f.getSystemName()).as("system_name of %s", name).isZero();
            }
        }
        assertThat(nativeLocations).isEqualTo(7);
        // qsort in libc and the Python function qsort in /app/libc.so.6 are two functions.
        assertThat(p.getFunctionList().stream().filter(f -> s(p, f.getName()).equals("qsort")).count()).isEqualTo(2);
    }

    @Test
    void goToolPprofReadsTheNativeFramesAndTheirMappings() throws Exception {
        String go = TestTools.goWithPprof();
        Path pb = dir.resolve("native.pb.gz");
        feed(PprofExporter.builder().build(pb));
        String libcBuildId;
        try (ElfFile libc = ElfFile.open(Path.of(LIBC))) {
            libcBuildId = libc.buildIdHex().orElse("");
        }

        TestTools.Result raw = TestTools.run(List.of(go, "tool", "pprof", "-symbolize=none", "-raw", pb.toString()));
        assertThat(raw.exitCode()).as("go tool pprof -raw: %s", raw.stderr()).isZero();
        assertThat(raw.stdout()).as("go tool pprof -raw").contains(LIBC).contains(CXX_LIB).contains(GONE);
        if (!libcBuildId.isEmpty()) {
            assertThat(raw.stdout()).contains(libcBuildId);
        }

        for (String symbolize : List.of("-symbolize=none", "-symbolize=local", "-symbolize=force")) {
            TestTools.Result r = TestTools.run(List.of(go, "tool", "pprof", symbolize, "-top", "-nodecount=1000",
                    "-nodefraction=0", pb.toString()));
            assertThat(r.exitCode()).as("go tool pprof %s: %s", symbolize, r.stderr()).isZero();
            // When it symbolises, pprof simplifies a C++ name as it does its own symbols' (no template arguments
            // or parameters): it takes a name equal to the system name for one not yet simplified.
            String cxx = symbolize.equals("-symbolize=none") ? CXX_SYMBOL : "std::vector::push_back";
            assertThat(GoPprofTest.topNames(r.stdout())).as("go tool pprof %s -top:%n%s", symbolize, r.stdout())
                    .contains("qsort", "npy_quicksort", "_PyEval_EvalFrameDefault", cxx,
                            "libgone.so.1+0x1f40", "[anonymous]+0x40", "free", "<module>", "Outer.leaf",
                            "SlowDel.__del__", "<interpreter shutdown>");
        }
    }

    @Test
    void htmlMarksNativeFramesAndColoursThemApart() throws Exception {
        Path file = dir.resolve("p.html");
        feed(HtmlFlameGraphExporter.builder().build(file));
        Matcher m = Pattern.compile("<script id=\"data\" type=\"application/json\">(.*?)</script>", Pattern.DOTALL)
                .matcher(Files.readString(file));
        assertThat(m.find()).isTrue();
        JsonNode data = JsonLinesExporterTest.JSON.readTree(m.group(1));
        Map<String, Integer> kinds = new HashMap<>();
        List<JsonNode> open = new ArrayList<>(List.of(data.get("tree")));
        while (!open.isEmpty()) {
            JsonNode n = open.remove(open.size() - 1);
            kinds.merge(data.get("names").get(n.get(0).asInt()).asText(), n.size() > 4 ? n.get(4).asInt() : 0,
                    (a, b) -> a.equals(b) ? a : -1);
            n.get(3).forEach(open::add);
        }
        assertThat(kinds).containsEntry("qsort", -1) // the Python qsort (0) and the C one (1)
                .containsEntry("free", 1).containsEntry(CXX_SYMBOL, 1).containsEntry("Outer.leaf", 0)
                .containsEntry("<interpreter shutdown>", 2).containsEntry("all", 0);

        try (HeadlessChromium chromium = HeadlessChromium.start(1400, 900)) {
            chromium.open(file.toUri().toString());
            assertThat(chromium.eval("document.getElementById('legend').hidden").asBoolean()).isFalse();
            assertThat(chromium.eval("getComputedStyle(document.getElementById('legend')).display").asText())
                    .isEqualTo("flex");
            JsonNode boxes = chromium.eval("""
                    [...document.querySelectorAll('#graph .frame')].map(d => [d.dataset.name, d.dataset.kind || '',
                        getComputedStyle(d).backgroundColor, d.textContent])""");
            int nativeBoxes = 0;
            for (JsonNode b : boxes) {
                int[] rgb = Pattern.compile("\\d+").matcher(b.get(2).asText()).results()
                        .mapToInt(r -> Integer.parseInt(r.group())).limit(3).toArray();
                if (b.get(1).asText().equals("native")) {
                    nativeBoxes++;
                    assertThat(rgb[2]).as("native box %s is blue", b).isGreaterThan(rgb[0]);
                    assertThat(b.get(3).asText()).as("native box %s names its library", b).endsWith(")");
                } else if (b.get(1).asText().isEmpty() && b.get(0).asText().equals("Outer.leaf")) {
                    assertThat(rgb[0]).as("Python box %s is warm", b).isGreaterThan(rgb[2]);
                }
            }
            assertThat(nativeBoxes).as("boxes %s", boxes).isGreaterThanOrEqualTo(7);
            assertThat(chromium.eval("document.querySelector('#graph .frame[data-name=\"free\"]').textContent")
                    .asText()).isEqualTo("free (libc.so.6)");
            assertThat(chromium.errors()).isEmpty();
        }

        // Without native frames, no legend.
        Path pythonOnly = dir.resolve("python.html");
        PseudoFrameExportTest.feed(HtmlFlameGraphExporter.builder().build(pythonOnly));
        try (HeadlessChromium chromium = HeadlessChromium.start(800, 600)) {
            chromium.open(pythonOnly.toUri().toString());
            assertThat(chromium.eval("getComputedStyle(document.getElementById('legend')).display").asText())
                    .isEqualTo("none");
            assertThat(chromium.errors()).isEmpty();
        }
    }

    private static String s(Profile p, long index) {
        return p.getStringTable((int) index);
    }
}
