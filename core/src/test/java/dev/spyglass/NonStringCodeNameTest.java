package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.parallel.ResourceLock;

import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * A code object's {@code co_name}, {@code co_filename} or {@code co_qualname} pointing at an object that
 * is not a {@code str}: the sample is torn (counted), never emitted with the other object's bytes read
 * as a name. The target makes the pointers lasting with ctypes while it is being sampled: they point at
 * a fake object of type {@code int} whose bytes are a well-formed string header spelling
 * {@code JUNKNAME} (a real torn look finds a real non-str object; ≤3.11 decoded such ones as "D" or
 * "3\0"; the fake one is decoded as a name by the old code on every version). The functions were
 * sampled before, so their cached entries must be dropped too.
 */
class NonStringCodeNameTest {

    static final String SCRIPT = String.join("\n",
            "import ctypes, sys, threading, time",
            "def a():",
            "    t = time.time() + 0.002",
            "    while time.time() < t:",
            "        pass",
            "def b():",
            "    t = time.time() + 0.002",
            "    while time.time() < t:",
            "        pass",
            "def c():",
            "    t = time.time() + 0.002",
            "    while time.time() < t:",
            "        pass",
            "keep = []",
            "def corrupt():",
            "    o = dict((kv.split('=')[0], int(kv.split('=')[1])) for kv in sys.stdin.readline().split())",
            "    fake = ctypes.create_string_buffer(512)",
            "    base = ctypes.addressof(fake)",
            "    keep.append(fake)",
            "    ctypes.c_void_p.from_address(base + o['type']).value = id(int)",
            "    ctypes.c_ssize_t.from_address(base + o['length']).value = 8",
            "    if sys.version_info[0] < 3:",
            "        ctypes.memmove(base + o['data'], b'JUNKNAME\\0', 9)  # ob_sstate before it stays 0",
            "    else:",
            "        ctypes.c_ssize_t.from_address(base + o['length'] + 8).value = -1  # hash",
            "        ctypes.c_uint32.from_address(base + o['state']).value = o['bits']",
            "        ctypes.memmove(base + o['data'], b'JUNKNAME\\0', 9)",
            "    P = ctypes.c_void_p",
            "    P.from_address(id(a.__code__) + o['name']).value = base",
            "    P.from_address(id(b.__code__) + o['file']).value = base",
            "    if o['qualname'] >= 0:",
            "        P.from_address(id(c.__code__) + o['qualname']).value = base",
            "    open(sys.argv[1], 'w').write('%.6f' % time.time())",
            "t = threading.Thread(target=corrupt)",
            "t.daemon = True",
            "t.start()",
            "sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "while True:",
            "    a(); b(); c()",
            "");

    @ForEachPython
    @ResourceLock(SamplerTest.CPU_BOUND)
    void nonStringNamesTearTheSampleOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Path script = PythonScripts.write("nonstr.py", SCRIPT);
        Path flag = script.resolveSibling("corrupted");
        java.util.Queue<StackSample> samples = new ConcurrentLinkedQueue<>();
        try (PythonScripts.Running target = PythonScripts.start(py, script, flag.toString())) {
            Layout layout = target.layout();
            String offsets = offsets(py, layout);
            // c's qualified name is corrupted only where code objects have one (3.11+).
            List<String> gone = layout.has(Field.CODE_QUALNAME) ? List.of("a", "b", "c") : List.of("a", "b");
            try (SamplingSession s = Sampler.builder().interval(Duration.ofMillis(1)).build().attach(target.pid())) {
                Thread feeder = Thread.ofPlatform().daemon().start(() -> s.forEach(samples::add));
                // Let a, b and c be sampled (and cached) first.
                long until = System.nanoTime() + 3_000_000_000L;
                while (!seen(samples, "a", "b", "c") && System.nanoTime() < until) {
                    Thread.sleep(10);
                }
                long tornBefore = s.stats().tornSamples();
                long ticksBefore = s.stats().ticks();
                target.send(offsets);
                Assumptions.assumeTrue(PythonScripts.awaitFile(flag), "target did not corrupt its code objects");
                // 400 ms, longer on a loaded machine: until the main thread ran 200 ms of them (at most 5 s).
                long ranBefore = runNanos(target.pid());
                long waitStart = System.nanoTime();
                Thread.sleep(400);
                while (runNanos(target.pid()) - ranBefore < 200_000_000L && System.nanoTime() - waitStart < 5_000_000_000L) {
                    Thread.sleep(100);
                }
                long ran = runNanos(target.pid()) - ranBefore;
                long waited = (System.nanoTime() - waitStart) / 1_000_000;
                s.stop();
                feeder.join(5_000);
                SamplingStats stats = s.stats();
                for (StackSample x : samples) {
                    for (Frame f : x.frames()) {
                        assertThat(f.function() + " " + f.qualifiedName() + " " + f.file())
                                .as("frame %s of a sample", f).doesNotContain("JUNK");
                    }
                }
                long ticksAfter = stats.ticks() - ticksBefore;
                Assumptions.assumeTrue(ticksAfter >= 20,
                        () -> "starved: " + ticksAfter + " ticks in the " + waited + " ms after the corruption");
                // Under two CPU hogs and a suite (7 Dec 2026) one run saw no torn look after the corruption (pyenv)
                // and another a look naming b (Debian 3.15), the spinning main thread given 10 - 50% of a core; not
                // explained yet. The window now lasts until it ran 200 ms; skipped, with the figure, if it never did.
                Assumptions.assumeTrue(ran >= 200_000_000L, () -> "the target's main thread ran " + ran / 1_000_000
                        + " ms of the " + waited + " ms after the corruption (a loaded machine)");
                long corruptedAt = (long) (Double.parseDouble(Files.readString(flag).trim()) * 1e9);
                for (StackSample x : samples) {
                    for (Frame f : x.frames()) {
                        if (x.timestampNanos() > corruptedAt + 1_000_000L) {
                            assertThat(f.function()).as("frame %s sampled after the corruption", f)
                                    .isNotIn(gone);
                        }
                    }
                }
                assertThat(stats.tornSamples() - tornBefore).as("torn samples after the corruption, in %d ticks",
                        ticksAfter).isPositive();
            }
        }
    }

    /** The main thread's time on a CPU so far ({@code schedstat}), 0 where it cannot be read. */
    private static long runNanos(long pid) {
        try {
            return Long.parseLong(Files.readString(Path.of("/proc", Long.toString(pid), "task", Long.toString(pid),
                    "schedstat")).trim().split(" ")[0]);
        } catch (java.io.IOException | RuntimeException e) {
            return 0;
        }
    }

    /** The offsets the target needs to build its fake string and reach the code objects' pointers. */
    private static String offsets(PythonInterpreter py, Layout layout) {
        long type = layout.offset(Field.OBJECT_TYPE);
        String code = " name=" + layout.offset(Field.CODE_NAME) + " file=" + layout.offset(Field.CODE_FILENAME)
                + " qualname=" + (layout.has(Field.CODE_QUALNAME) ? layout.offset(Field.CODE_QUALNAME) : -1);
        if (py.major() < 3) {
            return "type=" + type + " length=" + layout.offset(Field.VAROBJECT_SIZE) + " data="
                    + layout.offset(Field.BYTES_DATA) + code;
        }
        // PyASCIIObject.state of a compact ASCII string, kind 1: 3.3 – 3.11 also set "ready" (bit 7);
        // 3.14t keeps "interned" in a whole byte, shifting the other bits up by 8.
        int bits = py.freeThreaded() && py.atLeast(3, 14) ? (1 << 8) | (1 << 11) | (1 << 12)
                : py.atLeast(3, 12) ? (1 << 2) | (1 << 5) | (1 << 6) : (1 << 2) | (1 << 5) | (1 << 6) | (1 << 7);
        return "type=" + type + " length=" + layout.offset(Field.UNICODE_LENGTH) + " state="
                + layout.offset(Field.UNICODE_STATE) + " bits=" + bits + " data="
                + layout.offset(Field.UNICODE_ASCII_DATA) + code;
    }

    private static boolean seen(Iterable<StackSample> samples, String... functions) {
        java.util.Set<String> want = new java.util.HashSet<>(List.of(functions));
        for (StackSample x : samples) {
            for (Frame f : x.frames()) {
                want.remove(f.function());
            }
            if (want.isEmpty()) {
                return true;
            }
        }
        return false;
    }
}
