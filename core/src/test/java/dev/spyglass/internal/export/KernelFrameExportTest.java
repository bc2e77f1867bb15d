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
import dev.spyglass.export.Exporter;

/**
 * Stacks with kernel frames innermost (a blocking pipe read, under libc's {@code read} or straight under Python
 * code) through every format, read back with the same decoders the formats' own tests use: a kernel frame is
 * marked the way each format's users expect ({@code _[k]} in folded stacks, Austin's {@code kernel} file, a
 * {@code [kernel.kallsyms]} mapping in pprof, the {@code kernel} category in the Chrome trace, {@code [kernel]}
 * elsewhere) and never merges with a Python or native frame of the same name.
 */
class KernelFrameExportTest {

    static final long PID = NativeFrameExportTest.PID;
    static final String LIBC = NativeFrameExportTest.LIBC;
    static final String UNKNOWN_SYMBOL = "[kernel]+0xffffffff81a0c3e1";

    static final Frame PIPE_READ = Frame.kernelFrame("anon_pipe_read");
    static final Frame VFS_READ = Frame.kernelFrame("vfs_read");
    static final Frame KSYS_READ = Frame.kernelFrame("ksys_read");
    static final Frame UNKNOWN = Frame.kernelFrame(UNKNOWN_SYMBOL);
    static final Frame FUTEX = Frame.kernelFrame("futex_wait");
    static final Frame LIBC_READ = Frame.nativeFrame("read", LIBC);
    static final Frame READER = Frame.python("read", "Pipe.read", "/app/x.py", 14, 13);
    static final Frame MODULE = Frame.python("<module>", "<module>", "/app/x.py", 30, 1);
    static final Frame DEL = Frame.python("__del__", "SlowDel.__del__", "/app/x.py", 12, 11);
    /** A Python function named like the kernel's, in a file named like the kernel's mark: must stay apart. */
    static final Frame PY_VFS_READ = Frame.python("vfs_read", "vfs_read", "[kernel]", 3, 2);
    /** A C function named like the kernel's: must stay apart too. */
    static final Frame NATIVE_VFS_READ = Frame.nativeFrame("vfs_read", "/opt/app/libvfs.so");

    static final String T = "thread 1240 (MainThread)";

    @TempDir
    Path dir;

    static StackSample sample(long ts, Frame... innermostFirst) {
        ThreadStack t = new ThreadStack(PID, 1240, 0x7f00, "MainThread", 0, ThreadState.IDLE, Boolean.FALSE,
                List.of(innermostFirst));
        return new StackSample(t, ts, 1_000_000L);
    }

    /**
     * 3 in a pipe read under libc's read, 2 in the kernel straight under Python (one symbol unknown), 1 each in a
     * Python and a C function named vfs_read, 1 in a futex wait at shutdown.
     */
    static List<StackSample> samples() {
        List<StackSample> l = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            l.add(sample(1_000_000L * (l.size() + 1), PIPE_READ, VFS_READ, KSYS_READ, LIBC_READ, READER, MODULE));
        }
        l.add(sample(1_000_000L * (l.size() + 1), UNKNOWN, VFS_READ, KSYS_READ, MODULE));
        l.add(sample(1_000_000L * (l.size() + 1), UNKNOWN, VFS_READ, KSYS_READ, MODULE));
        l.add(sample(1_000_000L * (l.size() + 1), PY_VFS_READ, MODULE));
        l.add(sample(1_000_000L * (l.size() + 1), NATIVE_VFS_READ, MODULE));
        l.add(sample(1_000_000L * (l.size() + 1), FUTEX, DEL, Frame.INTERPRETER_SHUTDOWN));
        return l;
    }

    static void feed(Exporter e) throws Exception {
        try (e) {
            samples().forEach(e::accept);
        }
    }

    @Test
    void collapsedAnnotatesKernelFramesWithK() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        feed(CollapsedExporter.builder().includeIdle(true).build(out));
        Map<List<String>, Long> stacks = FoldedStacks.parse(out.toString(StandardCharsets.UTF_8));

        String p = "process " + PID;
        String module = "<module> (/app/x.py:30)";
        assertThat(stacks).containsEntry(List.of(p, T, module, "Pipe.read (/app/x.py:14)", "read (libc.so.6)",
                "ksys_read_[k]", "vfs_read_[k]", "anon_pipe_read_[k]"), 3L)
                .containsEntry(List.of(p, T, module, "ksys_read_[k]", "vfs_read_[k]", UNKNOWN_SYMBOL + "_[k]"), 2L)
                .containsEntry(List.of(p, T, module, "vfs_read ([kernel]:3)"), 1L)
                .containsEntry(List.of(p, T, module, "vfs_read (libvfs.so)"), 1L)
                .containsEntry(List.of(p, T, "<interpreter shutdown>", "SlowDel.__del__ (/app/x.py:12)",
                        "futex_wait_[k]"), 1L)
                .hasSize(5);
        // flamegraph.pl's test for a kernel frame (palettes java and perl: m:_\[k\]$:) picks out exactly the kernel
        // frames: 5 distinct ones, and no Python, native or pseudo-frame.
        Pattern flamegraphKernel = Pattern.compile("_\\[k\\]$");
        assertThat(stacks.keySet().stream().flatMap(List::stream).distinct()
                .filter(f -> flamegraphKernel.matcher(f).find()))
                .containsExactlyInAnyOrder("anon_pipe_read_[k]", "vfs_read_[k]", "ksys_read_[k]",
                        UNKNOWN_SYMBOL + "_[k]", "futex_wait_[k]");

        // Without line numbers kernel frames are unchanged.
        ByteArrayOutputStream noLines = new ByteArrayOutputStream();
        feed(CollapsedExporter.builder().includeIdle(true).lineNumbers(false).build(noLines));
        assertThat(FoldedStacks.parse(noLines.toString(StandardCharsets.UTF_8))).containsKey(List.of(p, T,
                "<interpreter shutdown>", "SlowDel.__del__ (/app/x.py)", "futex_wait_[k]"));
    }

    @Test
    void austinWritesKernelFramesAsAustinpDoes() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        feed(AustinExporter.builder().build(out));
        String text = out.toString(StandardCharsets.UTF_8);
        AustinFormat.Profile a = AustinFormat.parse(text);

        assertThat(a.samples()).hasSize(8);
        assertThat(a.samples().get(0).rootFirst()).containsExactly(new AustinFormat.Frame("/app/x.py", "<module>", 30),
                new AustinFormat.Frame("/app/x.py", "Pipe.read", 14), new AustinFormat.Frame(LIBC, "read", 0),
                new AustinFormat.Frame("kernel", "ksys_read", 0), new AustinFormat.Frame("kernel", "vfs_read", 0),
                new AustinFormat.Frame("kernel", "anon_pipe_read", 0));
        assertThat(text).contains(";kernel:ksys_read:0;kernel:vfs_read:0;kernel:anon_pipe_read:0 1000\n");
        assertThat(a.samples().get(3).rootFirst().get(3)).isEqualTo(new AustinFormat.Frame("kernel",
                UNKNOWN_SYMBOL, 0));
        assertThat(a.samples().get(5).rootFirst().get(1)).isEqualTo(new AustinFormat.Frame("[kernel]", "vfs_read", 3));
        assertThat(a.samples().get(6).rootFirst().get(1)).isEqualTo(new AustinFormat.Frame("/opt/app/libvfs.so",
                "vfs_read", 0));
        assertThat(a.samples().get(7).rootFirst()).containsExactly(new AustinFormat.Frame("", "<interpreter shutdown>", 0),
                new AustinFormat.Frame("/app/x.py", "SlowDel.__del__", 12), new AustinFormat.Frame("kernel", "futex_wait", 0));
    }

    @Test
    void jsonLinesMarksKernelFramesWithTheirKindAndNoLibrary() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        feed(JsonLinesExporter.builder().build(out));
        String[] lines = JsonLinesExporterTest.sampleLines(out.toString(StandardCharsets.UTF_8));
        assertThat(lines).hasSize(8);

        JsonNode frames = JsonLinesExporterTest.JSON.readTree(lines[0]).get("frames");
        assertThat(frames).hasSize(6);
        for (int i = 0; i < 3; i++) {
            JsonNode k = frames.get(i);
            assertThat(k.get("kind").asText()).as("frame %s", k).isEqualTo("kernel");
            assertThat(k.get("file").asText()).isEqualTo("[kernel]");
            assertThat(k.get("line").asInt()).isZero();
            assertThat(k.get("qualname").asText()).isEqualTo(k.get("function").asText());
            assertThat(k.has("library")).as("a kernel frame has no library: %s", k).isFalse();
        }
        assertThat(frames.get(0).get("function").asText()).isEqualTo("anon_pipe_read");
        assertThat(frames.get(1).get("function").asText()).isEqualTo("vfs_read");
        assertThat(frames.get(3).get("kind").asText()).isEqualTo("native");
        assertThat(frames.get(3).get("library").asText()).isEqualTo("libc.so.6");
        assertThat(frames.get(4).get("kind").asText()).isEqualTo("python");

        assertThat(JsonLinesExporterTest.JSON.readTree(lines[3]).get("frames").get(0).get("function").asText())
                .isEqualTo(UNKNOWN_SYMBOL);
        JsonNode pyVfsRead = JsonLinesExporterTest.JSON.readTree(lines[5]).get("frames").get(0);
        assertThat(pyVfsRead.get("kind").asText()).isEqualTo("python");
        assertThat(pyVfsRead.get("line").asInt()).isEqualTo(3);
    }

    @Test
    void speedscopeNamesKernelFramesWithTheMarkAndPassesTheSchema() throws Exception {
        Path file = dir.resolve("k.speedscope.json");
        feed(SpeedscopeExporter.builder().includeIdle(true).build(file));
        JsonNode frames = JsonLinesExporterTest.JSON.readTree(file.toFile()).get("shared").get("frames");

        Map<String, JsonNode> byName = new HashMap<>();
        frames.forEach(f -> assertThat(byName.put(f.get("name").asText(), f)).as("frame named twice: %s", f).isNull());
        JsonNode vfsRead = byName.get("vfs_read [kernel]");
        assertThat(vfsRead).as("frames %s", frames).isNotNull();
        assertThat(vfsRead.get("file").asText()).isEqualTo("[kernel]");
        assertThat(vfsRead.has("line")).isFalse();
        assertThat(byName).containsKeys("anon_pipe_read [kernel]", "ksys_read [kernel]", UNKNOWN_SYMBOL + " [kernel]",
                "futex_wait [kernel]", "vfs_read ([kernel]:3)", "vfs_read (libvfs.so)");
        assertThat(byName.get("vfs_read ([kernel]:3)").get("line").asInt()).isEqualTo(3);
        // 5 kernel, 2 named vfs_read of other kinds, <module>, Pipe.read, read, __del__, <interpreter shutdown>.
        assertThat(byName).hasSize(12);

        TestTools.Result r = SpeedscopeSchema.validate(file);
        assertThat(r.stdout().strip()).isEqualTo("valid");
    }

    @Test
    void chromeTraceGivesKernelSlicesTheirOwnCategory() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        feed(ChromeTraceExporter.builder().includeIdle(true).build(out));
        ChromeTraceExporterTest.Trace t = ChromeTraceExporterTest.check(out.toByteArray());
        Map<String, String> categories = new HashMap<>();
        for (JsonNode e : t.root().get("traceEvents")) {
            if (!e.get("ph").asText().equals("B")) {
                continue;
            }
            String cat = e.get("cat").asText();
            String before = categories.put(e.get("name").asText(), cat);
            if (before != null) {
                assertThat(cat).as("category of %s", e).isEqualTo(before);
            }
            if (cat.equals("kernel")) {
                assertThat(e.has("args")).as("a kernel slice has no file: %s", e).isFalse();
            }
        }
        assertThat(categories).containsEntry("anon_pipe_read [kernel]", "kernel")
                .containsEntry("vfs_read [kernel]", "kernel").containsEntry("ksys_read [kernel]", "kernel")
                .containsEntry(UNKNOWN_SYMBOL + " [kernel]", "kernel").containsEntry("futex_wait [kernel]", "kernel")
                .containsEntry("vfs_read", "python").containsEntry("vfs_read (libvfs.so)", "native")
                .containsEntry("read (libc.so.6)", "native").containsEntry("Pipe.read", "python");
        assertThat(categories.values().stream().filter("kernel"::equals).count()).as("%s", categories).isEqualTo(5);
    }

    @Test
    void pprofPutsKernelFramesOnTheKernelsMapping() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        feed(PprofExporter.builder().includeIdle(true).build(out));
        Profile p = PprofExporterTest.decode(out.toByteArray());

        assertThat(PprofExporterTest.stacks(p)).contains(List.of("<module> /app/x.py:30", "Pipe.read /app/x.py:14",
                "read " + LIBC + ":0", "ksys_read [kernel]:0", "vfs_read [kernel]:0", "anon_pipe_read [kernel]:0"),
                List.of("<module> /app/x.py:30", "ksys_read [kernel]:0", "vfs_read [kernel]:0",
                        UNKNOWN_SYMBOL + " [kernel]:0"),
                List.of("<module> /app/x.py:30", "vfs_read [kernel]:3"),
                List.of("<module> /app/x.py:30", "vfs_read /opt/app/libvfs.so:0"),
                List.of("<interpreter shutdown> :0", "SlowDel.__del__ /app/x.py:12", "futex_wait [kernel]:0"));

        Map<Long, Mapping> mappings = new HashMap<>();
        Map<String, Mapping> mappingByFile = new HashMap<>();
        for (Mapping m : p.getMappingList()) {
            assertThat(mappings.put(m.getId(), m)).isNull();
            assertThat(mappingByFile.put(s(p, m.getFilename()), m)).isNull();
            assertThat(m.getHasFunctions()).isTrue();
        }
        assertThat(mappingByFile.keySet()).containsExactlyInAnyOrder("[kernel.kallsyms]", LIBC, "/opt/app/libvfs.so");
        // The running kernel's build-id (checked against perf in ObjectBuildIdsTest), or empty where unreadable.
        assertThat(s(p, mappingByFile.get("[kernel.kallsyms]").getBuildId()))
                .isEqualTo(ObjectBuildIds.kernelBuildId(ObjectBuildIds.KERNEL_NOTES));

        Map<Long, Function> functions = new HashMap<>();
        p.getFunctionList().forEach(f -> functions.put(f.getId(), f));
        int kernelLocations = 0;
        for (Location l : p.getLocationList()) {
            Function f = functions.get(l.getLine(0).getFunctionId());
            String name = s(p, f.getName());
            String file = s(p, f.getFilename());
            if (file.equals("[kernel]") && l.getLine(0).getLine() == 0) {
                kernelLocations++;
                assertThat(s(p, mappings.get(l.getMappingId()).getFilename())).as("mapping of %s", name)
                        .isEqualTo("[kernel.kallsyms]");
                assertThat(s(p, f.getSystemName())).as("system_name of %s", name).isEqualTo(name);
                assertThat(l.getAddress()).isZero();
            } else if (l.getMappingId() != 0) {
                assertThat(s(p, mappings.get(l.getMappingId()).getFilename())).as("mapping of %s", name)
                        .isEqualTo(file);
            } else {
                assertThat(f.getSystemName()).as("system_name of %s", name).isZero();
            }
        }
        assertThat(kernelLocations).isEqualTo(5);
        // The kernel's vfs_read, the Python vfs_read in "[kernel]" and the C one are three functions.
        assertThat(p.getFunctionList().stream().filter(f -> s(p, f.getName()).equals("vfs_read")).count()).isEqualTo(3);
    }

    @Test
    void goToolPprofReadsTheKernelFramesAndTheirMapping() throws Exception {
        String go = TestTools.goWithPprof();
        Path pb = dir.resolve("kernel.pb.gz");
        feed(PprofExporter.builder().includeIdle(true).build(pb));

        TestTools.Result raw = TestTools.run(List.of(go, "tool", "pprof", "-symbolize=none", "-raw", pb.toString()));
        assertThat(raw.exitCode()).as("go tool pprof -raw: %s", raw.stderr()).isZero();
        assertThat(raw.stdout()).as("go tool pprof -raw").contains("[kernel.kallsyms]")
                .contains(ObjectBuildIds.kernelBuildId(ObjectBuildIds.KERNEL_NOTES));

        for (String symbolize : List.of("-symbolize=none", "-symbolize=local", "-symbolize=force")) {
            TestTools.Result r = TestTools.run(List.of(go, "tool", "pprof", symbolize, "-top", "-nodecount=1000",
                    "-nodefraction=0", pb.toString()));
            assertThat(r.exitCode()).as("go tool pprof %s: %s", symbolize, r.stderr()).isZero();
            assertThat(GoPprofTest.topNames(r.stdout())).as("go tool pprof %s -top:%n%s", symbolize, r.stdout())
                    .contains("anon_pipe_read", "vfs_read", "ksys_read", UNKNOWN_SYMBOL, "futex_wait", "read",
                            "Pipe.read", "<module>");
        }
    }

    @Test
    void htmlColoursKernelFramesApartWithTheirLegend() throws Exception {
        Path file = dir.resolve("k.html");
        feed(HtmlFlameGraphExporter.builder().includeIdle(true).build(file));
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
        assertThat(kinds).containsEntry("vfs_read", -1) // kernel (3), Python (0) and native (1)
                .containsEntry("anon_pipe_read", 3).containsEntry("futex_wait", 3).containsEntry(UNKNOWN_SYMBOL, 3)
                .containsEntry("read", 1).containsEntry("Pipe.read", 0);

        try (HeadlessChromium chromium = HeadlessChromium.start(1400, 900)) {
            chromium.open(file.toUri().toString());
            assertThat(chromium.eval("getComputedStyle(document.getElementById('legend')).display").asText())
                    .isEqualTo("flex");
            assertThat(chromium.eval("getComputedStyle(document.getElementById('legend-kernel')).display").asText())
                    .isNotEqualTo("none");
            assertThat(chromium.eval("getComputedStyle(document.getElementById('legend-native')).display").asText())
                    .isNotEqualTo("none");
            JsonNode boxes = chromium.eval("""
                    [...document.querySelectorAll('#graph .frame')].map(d => [d.dataset.name, d.dataset.kind || '',
                        getComputedStyle(d).backgroundColor, d.textContent])""");
            int kernelBoxes = 0;
            for (JsonNode b : boxes) {
                int[] rgb = Pattern.compile("\\d+").matcher(b.get(2).asText()).results()
                        .mapToInt(r -> Integer.parseInt(r.group())).limit(3).toArray();
                switch (b.get(1).asText()) {
                    case "kernel" -> {
                        kernelBoxes++;
                        assertThat(rgb[1]).as("kernel box %s is green", b).isGreaterThan(rgb[0]).isGreaterThan(rgb[2]);
                        assertThat(b.get(3).asText()).as("kernel box %s", b).isEqualTo(b.get(0).asText() + " [kernel]");
                    }
                    case "native" -> assertThat(rgb[2]).as("native box %s is blue", b).isGreaterThan(rgb[1]);
                    case "" -> {
                        if (!b.get(0).asText().startsWith("thread") && !b.get(0).asText().equals("all")) {
                            assertThat(rgb[0]).as("Python box %s is warm", b).isGreaterThan(rgb[2]);
                        }
                    }
                    default -> {
                    }
                }
            }
            // ksys_read and vfs_read twice each (under libc's read and straight under <module>), anon_pipe_read,
            // the unknown symbol, futex_wait.
            assertThat(kernelBoxes).as("boxes %s", boxes).isEqualTo(7);
            JsonNode tip = chromium.eval("""
                    (() => { const d = document.querySelector('#graph .frame[data-name="futex_wait"]');
                      d.dispatchEvent(new MouseEvent('mousemove', {bubbles: true, clientX: 10, clientY: 10}));
                      return document.getElementById('tooltip').textContent; })()""");
            assertThat(tip.asText()).startsWith("futex_wait\nkernel code\n");
            assertThat(chromium.errors()).isEmpty();
        }

        // Native frames without kernel ones: the legend has no kernel entry.
        Path nativeOnly = dir.resolve("native.html");
        NativeFrameExportTest.feed(HtmlFlameGraphExporter.builder().build(nativeOnly));
        try (HeadlessChromium chromium = HeadlessChromium.start(800, 600)) {
            chromium.open(nativeOnly.toUri().toString());
            assertThat(chromium.eval("getComputedStyle(document.getElementById('legend')).display").asText())
                    .isEqualTo("flex");
            assertThat(chromium.eval("getComputedStyle(document.getElementById('legend-kernel')).display").asText())
                    .isEqualTo("none");
            assertThat(chromium.errors()).isEmpty();
        }
    }

    private static String s(Profile p, long index) {
        return p.getStringTable((int) index);
    }
}
