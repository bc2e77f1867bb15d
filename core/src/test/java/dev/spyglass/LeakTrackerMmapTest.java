package dev.spyglass;

import static dev.spyglass.LeakWindow.has;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;

import dev.spyglass.internal.leaks.MmapPoints;
import dev.spyglass.internal.os.ProcessMap;
import dev.spyglass.internal.python.Target;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * {@link LeakTracker}'s coarse level on memory a program maps itself, which only its {@code mmap} probes see:
 * {@code keep_maps} keeps 120 anonymous {@code mmap.mmap(-1, 256 KiB)} (one every 10 ms) while {@code churn_maps}
 * maps and unmaps one every millisecond. The keeper also keeps twenty 1 MiB {@code bytes}, which glibc's
 * {@code malloc} maps inside the raw allocator: counted once (by the raw probes, or on a build whose raw probes
 * are bypassed, Debian's 3.11, by the mmap probes), never twice. Ground truth: the bytes kept, counted by the target
 * ({@code len} of each mapping, {@code sys.getsizeof} of each {@code bytes}). The keeper must rank first, its
 * surviving bytes within 10% of the bytes kept, and the churner must not be a suspect.
 */
@Execution(ExecutionMode.CONCURRENT)
@ResourceLock(LeakTrackerTest.ALLOCATION_PROBES)
class LeakTrackerMmapTest {
    static final String SCRIPT = String.join("\n",
            "import mmap, os, sys, threading, time",
            "kept = []",
            "leaked = [0]",
            "go, done = threading.Event(), threading.Event()",
            "def keep_maps():",
            "    go.wait()",
            "    for i in range(120):",
            "        m = mmap.mmap(-1, 256 * 1024)",
            "        kept.append(m)",
            "        leaked[0] += len(m)",
            "        if i % 6 == 0:",
            "            b = bytes(1 << 20)",
            "            kept.append(b)",
            "            leaked[0] += sys.getsizeof(b)",
            "        time.sleep(0.01)",
            "    done.set()",
            "    threading.Event().wait()",
            "def churn_maps():",
            "    while not done.is_set():",
            "        m = mmap.mmap(-1, 256 * 1024)",
            "        m.close()",
            "        time.sleep(0.001)",
            "    while True:",
            "        time.sleep(3600)",
            "threading.Thread(target=churn_maps, name='churner', daemon=True).start()",
            "threading.Thread(target=keep_maps, name='keeper', daemon=True).start()",
            "sys.stdout.write('ready %d\\n' % os.getpid()); sys.stdout.flush()",
            "for line in sys.stdin:",
            "    if line.startswith('mark'):",
            "        go.set()",
            "    elif line.startswith('end'):",
            "        done.wait()",
            "        n = leaked[0]",
            "        with open(sys.argv[1] + '.tmp', 'w') as f: f.write(str(n))",
            "        os.rename(sys.argv[1] + '.tmp', sys.argv[1])",
            "");

    /**
     * Mappings cut and moved, through the C library's functions (ctypes): {@code keep_maps} keeps, 100 times, the
     * head of a 256 KiB mapping whose tail it unmapped, a 256 KiB mapping with a 64 KiB hole unmapped in it, and a
     * 64 KiB mapping grown to 576 KiB by {@code mremap}; {@code churn_maps} grows one by {@code mremap} and unmaps it
     * in two halves, tail first, every millisecond. Unfollowed, the keeper showed 64% of what it keeps and the
     * churner kept its first 64 KiB each time.
     */
    static final String CUT_SCRIPT = String.join("\n",
            "import ctypes, os, sys, threading, time",
            "libc = ctypes.CDLL(None, use_errno=True)",
            "libc.mmap.restype = ctypes.c_void_p",
            "libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,"
                    + " ctypes.c_long]",
            "libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]",
            "libc.mremap.restype = ctypes.c_void_p",
            "libc.mremap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int]",
            "K, FAILED = 1024, (1 << 64) - 1",
            "def checked(a):",
            "    if a is None or a == FAILED:",
            "        raise OSError(ctypes.get_errno(), 'mmap')",
            "    return a",
            "def new_map(n):",
            "    return checked(libc.mmap(None, n, 3, 0x22, -1, 0))  # PROT_READ|WRITE, MAP_PRIVATE|ANONYMOUS",
            "def grow(a, old, new):",
            "    return checked(libc.mremap(a, old, new, 1))  # MREMAP_MAYMOVE",
            "leaked = [0]",
            "go, done = threading.Event(), threading.Event()",
            "def keep_maps():",
            "    go.wait()",
            "    for i in range(100):",
            "        a = new_map(256 * K)",
            "        libc.munmap(a + 128 * K, 128 * K)",
            "        b = new_map(256 * K)",
            "        libc.munmap(b + 64 * K, 64 * K)",
            "        c = grow(new_map(64 * K), 64 * K, 576 * K)",
            "        leaked[0] += 128 * K + 192 * K + 576 * K",
            "        time.sleep(0.01)",
            "    done.set()",
            "    threading.Event().wait()",
            "def churn_maps():",
            "    while not done.is_set():",
            "        a = grow(new_map(64 * K), 64 * K, 256 * K)",
            "        libc.munmap(a + 128 * K, 128 * K)",
            "        libc.munmap(a, 128 * K)",
            "        time.sleep(0.001)",
            "    while True:",
            "        time.sleep(3600)",
            "threading.Thread(target=churn_maps, name='churner', daemon=True).start()",
            "threading.Thread(target=keep_maps, name='keeper', daemon=True).start()",
            "sys.stdout.write('ready %d\\n' % os.getpid()); sys.stdout.flush()",
            "for line in sys.stdin:",
            "    if line.startswith('mark'):",
            "        go.set()",
            "    elif line.startswith('end'):",
            "        done.wait()",
            "        n = leaked[0]",
            "        with open(sys.argv[1] + '.tmp', 'w') as f: f.write(str(n))",
            "        os.rename(sys.argv[1] + '.tmp', sys.argv[1])",
            "");

    @ForEachPython
    void ranksTheStackKeepingMappingsFirst(PythonInterpreter py) throws Exception {
        Tracked r = track(py, "leaky_maps.py", SCRIPT);
        // the mappings the keeper made itself are under <mmap>; its 1 MiB bytes, seen by the raw probes, not
        assertThat(r.report.stacks().stream().filter(s -> has(s, "keep_maps") && s.frames().get(0).equals(Frame.MAPPED))
                .mapToLong(LeakReport.StackReport::survivingBytes).sum()).as(r.figures)
                .isGreaterThanOrEqualTo(120L * 256 * 1024);
    }

    @ForEachPython
    void followsMappingsUnmappedInPartAndRemapped(PythonInterpreter py) throws Exception {
        Tracked r = track(py, "cut_maps.py", CUT_SCRIPT);
        assertThat(r.report.stacks().get(0).frames().get(0)).as(r.figures).isEqualTo(Frame.MAPPED);
    }

    /** The report of a coarse tracker over the target's window, and the bytes the target says it kept. */
    private record Tracked(LeakReport report, long truth, String figures) {
    }

    /**
     * Runs {@code source}, tracks it at the coarse level while it keeps mappings, and checks what both scripts
     * share: {@code mmap} probed while tracked and not after, the keeper first, a suspect, within 10% of the bytes
     * kept; the churner no suspect.
     */
    private static Tracked track(PythonInterpreter py, String name, String source) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(py.atLeast(3, 8), "allocation probes: 3.8+");
        Assumptions.assumeTrue(Sampler.pageFaultsRefusal().isEmpty(), "perf events not permitted here");
        Path script = PythonScripts.write(name, source);
        Path figure = Files.createTempFile("kept", ".txt");
        Files.delete(figure);
        ProcessBuilder b = py.processBuilder(script.toString(), figure.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD);
        try (PythonScripts.Running target = PythonScripts.awaitReady(py, b.start(), script)) {
            long mmapAt = mmapAddress(target.pid());
            byte original = byteAt(target.pid(), mmapAt);
            LeakReport report;
            try (LeakTracker t = LeakTracker.attach(target.pid(), LeakTracker.DEFAULT_CAPACITY, false,
                    LeakTracker.Level.COARSE)) {
                assertThat(t.probes()).contains(", mmap / munmap in ");
                assertThat(byteAt(target.pid(), mmapAt)).as("int3 of the uprobe on mmap").isEqualTo((byte) 0xCC);
                target.send("mark");
                target.send("end");
                LeakWindow.pollUntilWritten(t, figure, 60_000_000_000L);
                Assumptions.assumeTrue(Files.exists(figure), "the target did not finish in 60 s (load?)");
                t.poll();
                report = t.report();
            }
            // the probes go with the tracker: libc's mmap is the C library's again. Under load the kernel's removal
            // can lag the close (as in FunctionProbesTest): up to 10 s; a probe left behind never goes, and fails.
            assertThat(FunctionProbesTest.restoredWithin(target.pid(), mmapAt, original, 10_000))
                    .isEqualTo(original).isNotEqualTo((byte) 0xCC);
            long truth = Long.parseLong(Files.readString(figure).trim());
            Files.delete(figure);
            long ours = LeakWindow.survivingBytes(report, "keep_maps");
            long churn = LeakWindow.survivingBytes(report, "churn_maps");
            LeakReport.StackReport first = report.stacks().get(0);
            String figures = String.format(Locale.ROOT, "%s: %s; %d allocations, %d frees, %d lost; keep_maps %d B,"
                    + " bytes kept %d B (%.1f%%); churn_maps %d B; first: %s; %s", py.label(), report.probes(),
                    report.allocations(), report.frees(), report.lostRecords(), ours, truth,
                    100.0 * ours / Math.max(1, truth), churn, first.frames(), LeakWindow.growth(report, first));
            System.out.println(figures);
            assertThat(has(first, "keep_maps")).as(figures).isTrue();
            assertThat(report.meaning()).contains("<mmap>");
            assertThat(first.suspect()).as(figures).isTrue();
            assertThat((double) ours).as(figures).isBetween(truth * 0.9, truth * 1.1);
            assertThat(report.stacks().stream().filter(s -> has(s, "churn_maps"))
                    .noneMatch(LeakReport.StackReport::suspect)).as(figures + "; churn_maps suspects: "
                            + report.stacks().stream().filter(s -> has(s, "churn_maps") && s.suspect())
                                    .map(s -> s.survivingBytes() + " B under " + s.frames()).toList()).isTrue();
            return new Tracked(report, truth, figures);
        }
    }

    /** The address of the C library's mmap in the target, through the file offset {@link MmapPoints} probes. */
    private static long mmapAddress(long pid) throws Exception {
        try (Target t = Target.attach(pid)) {
            MmapPoints p = MmapPoints.find(t).points().orElseThrow();
            for (ProcessMap.Mapping m : ProcessMap.read(pid).mappings()) {
                long end = m.fileOffset() + (m.end() - m.start());
                if (m.executable() && m.path().equals(p.object()) && p.mmapOffset() >= m.fileOffset()
                        && p.mmapOffset() < end) {
                    return m.start() + p.mmapOffset() - m.fileOffset();
                }
            }
            throw new AssertionError("no executable mapping of " + p.object() + " holds " + p.mmapOffset());
        }
    }

    private static byte byteAt(long pid, long address) throws Exception {
        try (RandomAccessFile mem = new RandomAccessFile("/proc/" + pid + "/mem", "r")) {
            mem.seek(address);
            return (byte) mem.read();
        }
    }
}
