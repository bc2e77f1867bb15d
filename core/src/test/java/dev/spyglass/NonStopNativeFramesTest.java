package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;

import dev.spyglass.Frame.FrameKind;
import dev.spyglass.NativeFramesTest.Step;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.NativeDemoExtension;
import dev.spyglass.testsupport.PythonInterpreter;
import dev.spyglass.testsupport.PythonInterpreters;

/**
 * Issue 12's no-stop native engine ({@link Sampler.NativeEngine#NON_STOP}) on real interpreters: its
 * spliced samples are the brief-stop engine's stacks, it never stops (nor traces) a thread, a sleeping
 * thread is spliced from the snapshot of its switch-out, a thread racing through Python calls is left
 * unspliced with its Python frames, and closing releases every descriptor and mapping.
 */
@Execution(ExecutionMode.CONCURRENT)
class NonStopNativeFramesTest {
    private static final String LIBC = "libc.so.6";
    private static final Pattern QSORT = Pattern.compile("(__GI_)?_*(qsort|msort)\\w*");

    private static final String SLEEP_TARGET = String.join("\n",
            "import sys, time",
            "",
            "def py_sleeper():",
            "    while True:",
            "        time.sleep(0.05)",
            "",
            "sys.stdout.write('ready\\n')",
            "sys.stdout.flush()",
            "py_sleeper()",
            "");

    /** A thread making millions of tiny Python calls, beside a sleeping main thread. */
    private static final String RACE_TARGET = String.join("\n",
            "import sys, threading, time",
            "",
            "def tiny(i):",
            "    return i + 1",
            "",
            "def py_racer():",
            "    i = 0",
            "    while True:",
            "        i = tiny(i)",
            "        i = tiny(i) - 1",
            "",
            "threading.Thread(target=py_racer, name='racer').start()",
            "sys.stdout.write('ready\\n')",
            "sys.stdout.flush()",
            "while True:",
            "    time.sleep(0.05)",
            "");

    static void assumeNonStop() {
        Assumptions.assumeTrue(UserStackRefusal.why() == null, () -> "perf events refused: " + UserStackRefusal.why());
    }

    /** {@link dev.spyglass.internal.kernel.UserStackSamples#refusal()}, once. */
    private static final class UserStackRefusal {
        private static final String WHY = dev.spyglass.internal.kernel.UserStackSamples.refusal();

        static String why() {
            return WHY;
        }
    }

    static Sampler sampler(Sampler.NativeEngine engine, Duration interval, Duration duration) {
        return Sampler.builder().nativeFrames(true).nativeEngine(engine).interval(interval).duration(duration).build();
    }

    private static boolean spliced(StackSample s) {
        return s.frames().isEmpty() || !s.frames().getFirst().equals(Frame.NATIVE_FRAMES_UNKNOWN);
    }

    private static boolean has(StackSample s, String pythonFunction) {
        return s.frames().stream().anyMatch(f -> f.kind() == FrameKind.PYTHON && f.function().equals(pythonFunction));
    }

    private static String common(List<StackSample> samples) {
        Map<String, Integer> seen = new LinkedHashMap<>();
        samples.forEach(x -> seen.merge(x.frames().toString(), 1, Integer::sum));
        return seen.entrySet().stream().sorted(Map.Entry.<String, Integer>comparingByValue().reversed()).limit(4)
                .map(e -> e.getValue() + "x " + e.getKey()).collect(Collectors.joining("\n  "));
    }

    @ForEachPython
    @ResourceLock(SamplerTest.CPU_BOUND)
    void qsortCallbackSplicesAsTheBriefStopEngineDoesOn(PythonInterpreter py) throws Exception {
        assumeNonStop();
        NativeDemoExtension ext = NativeDemoExtension.build(py);
        Path script = PythonScripts.write("nonstop_sort.py", NativeDemoExtension.SORT_TARGET);
        List<Step> expected = List.of(NativeFramesTest.python("py_compare"),
                NativeFramesTest.nativeIn("compare_trampoline", ext.fileName()),
                new Step("a qsort function in " + LIBC, f -> f.kind() == FrameKind.NATIVE && LIBC.equals(f.library())
                        && QSORT.matcher(f.function()).matches()),
                NativeFramesTest.nativeIn("ext_sort", ext.fileName()), NativeFramesTest.python("py_caller"),
                NativeFramesTest.python("<module>"));
        try (PythonScripts.Running target = PythonScripts.startUnderShell(py, script, ext.directory().toString())) {
            // Each engine samples until it has enough samples in py_compare, or for 3 s and 6 s at most (those fixed
            // times gave 360 - 520 and 1,175 - 1,950 such samples on a quiet machine, nine seconds per interpreter
            // under the CPU lock; on a loaded one 3.11+ splices only a few per second, hence the long deadline).
            List<StackSample> brief = collect(target.pid(), Sampler.NativeEngine.BRIEF_STOP, Duration.ofMillis(5), 3,
                    s -> has(s, "py_compare"), 100);
            long[] nonStopTorn = {0};
            List<StackSample> nonStop = collect(target.pid(), Sampler.NativeEngine.NON_STOP, Duration.ofMillis(2), 6,
                    s -> spliced(s) && has(s, "py_compare") && has(s, "py_caller") && has(s, "<module>"), 200,
                    nonStopTorn);
            // Within py_compare (called back from C through qsort), the merged stack must be the whole chain, in
            // the spliced samples with py_caller and <module> and in all spliced ones: a Python read of the running
            // thread that met the C-stack entry frame of a callback that had returned (3.11+) is torn, not short.
            List<StackSample> briefInCompare = brief.stream().filter(s -> has(s, "py_compare")).toList();
            List<StackSample> splicedInCompare = nonStop.stream().filter(s -> spliced(s) && has(s, "py_compare"))
                    .toList();
            List<StackSample> whole = splicedInCompare.stream().filter(s -> has(s, "py_caller") && has(s, "<module>"))
                    .toList();
            long briefOk = briefInCompare.stream().filter(s -> NativeFramesTest.containsInOrder(s.frames(), expected))
                    .count();
            long ok = whole.stream().filter(s -> NativeFramesTest.containsInOrder(s.frames(), expected)).count();
            System.out.printf("%s: non-stop %d samples, %d spliced in py_compare (%d with py_caller and <module>), %d"
                    + " with the chain; brief-stop %d of %d in py_compare with the chain; %d torn%n", py.label(),
                    nonStop.size(), splicedInCompare.size(), whole.size(), ok, briefOk, briefInCompare.size(),
                    nonStopTorn[0]);
            assertThat(briefInCompare).as("%s: brief-stop samples in py_compare", py.label()).isNotEmpty();
            assertThat(whole).as("%s: spliced non-stop samples in py_compare; of %d samples:\n  %s", py.label(),
                    nonStop.size(), common(nonStop)).hasSizeGreaterThanOrEqualTo(3);
            assertThat((double) ok / whole.size())
                    .as("%s: share of spliced non-stop samples in py_compare with %s (brief-stop: %d of %d); "
                            + "others:\n  %s", py.label(), expected.stream().map(Step::description).toList(), briefOk,
                            briefInCompare.size(), common(whole.stream()
                                    .filter(s -> !NativeFramesTest.containsInOrder(s.frames(), expected)).toList()))
                    .isGreaterThanOrEqualTo(0.95);
            assertThat((double) ok / splicedInCompare.size())
                    .as("%s: share of all spliced non-stop samples in py_compare with the chain; others:\n  %s",
                            py.label(), common(splicedInCompare.stream()
                                    .filter(s -> !NativeFramesTest.containsInOrder(s.frames(), expected)).toList()))
                    .isGreaterThanOrEqualTo(0.95);
        }
    }

    /** Samples for {@code seconds} at most, stopping early once {@code enough} samples passed {@code wanted}. */
    private static List<StackSample> collect(long pid, Sampler.NativeEngine engine, Duration interval, int seconds,
            java.util.function.Predicate<StackSample> wanted, int enough) throws Exception {
        return collect(pid, engine, interval, seconds, wanted, enough, new long[1]);
    }

    /** As above; {@code torn[0]} gets the session's torn samples. */
    private static List<StackSample> collect(long pid, Sampler.NativeEngine engine, Duration interval, int seconds,
            java.util.function.Predicate<StackSample> wanted, int enough, long[] torn) throws Exception {
        List<StackSample> out = new ArrayList<>();
        int[] found = {0};
        try (SamplingSession s = sampler(engine, interval, Duration.ofSeconds(seconds)).attach(pid)) {
            s.forEach(x -> {
                out.add(x);
                if (wanted.test(x) && ++found[0] == enough) {
                    s.stop();
                }
            });
            assertThat(s.failure()).as("session failure").isEmpty();
            torn[0] = s.stats().tornSamples();
        }
        return out;
    }

    @ForEachPython
    void neverStopsNorTracesATargetThreadOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        assumeNonStop();
        Path script = PythonScripts.write("nonstop_race.py", RACE_TARGET);
        try (PythonScripts.Running target = PythonScripts.start(py, script)) {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<String> stopped = new AtomicReference<>();
            AtomicInteger looks = new AtomicInteger();
            Thread watcher = Thread.ofPlatform().daemon().start(() -> {
                while (!stop.get() && stopped.get() == null) {
                    try (Stream<Path> tasks = Files.list(Path.of("/proc/" + target.pid() + "/task"))) {
                        for (Path task : tasks.toList()) {
                            String status = Files.readString(task.resolve("status"));
                            for (String line : status.split("\n")) {
                                if ((line.startsWith("TracerPid:") && !line.substring(10).trim().equals("0"))
                                        || (line.startsWith("State:") && line.contains("tracing stop"))) {
                                    stopped.compareAndSet(null, task + ": " + line);
                                }
                            }
                        }
                        looks.incrementAndGet();
                    } catch (IOException | RuntimeException e) {
                        // a thread came or went between the listing and the read
                    }
                }
            });
            SamplingStats stats;
            // The target is this JVM's child: the brief-stop engine refuses that, the non-stop one needs no ptrace.
            try (SamplingSession s = sampler(Sampler.NativeEngine.NON_STOP, Duration.ofMillis(2), Duration.ofSeconds(3))
                    .attach(target.pid())) {
                s.forEach(x -> {
                });
                stats = s.stats();
                assertThat(s.failure()).isEmpty();
            } finally {
                stop.set(true);
                watcher.join(10_000);
            }
            assertThat(stopped.get()).as("%s: a thread stopped or traced during a non-stop session", py.label()).isNull();
            assertThat(looks.get()).as("looks at the threads' states").isGreaterThan(10);
            assertThat(stats.threadStops()).isEqualTo(SamplingStats.ThreadStops.NONE);
            assertThat(stats.nativeSnapshots().spliced()).as("%s: %s", py.label(), stats).isPositive();
        }
    }

    @ForEachPython
    void aSleepingThreadIsSplicedFromItsSwitchOutSnapshotOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        assumeNonStop();
        String wait = py.atLeast(3, 11) ? "clock_nanosleep" : "select";
        Pattern waitName = Pattern.compile("(__GI_)?_*" + wait + "\\w*");
        List<Step> expected = List.of(new Step(wait + " in " + LIBC, f -> f.kind() == FrameKind.NATIVE
                && LIBC.equals(f.library()) && waitName.matcher(f.function()).matches()),
                NativeFramesTest.python("py_sleeper"), NativeFramesTest.python("<module>"));
        Path script = PythonScripts.write("nonstop_sleep.py", SLEEP_TARGET);
        try (PythonScripts.Running target = PythonScripts.start(py, script)) {
            List<StackSample> samples = new ArrayList<>();
            try (SamplingSession s = sampler(Sampler.NativeEngine.NON_STOP, Duration.ofMillis(10), Duration.ofSeconds(3))
                    .attach(target.pid())) {
                s.forEach(samples::add);
                assertThat(s.failure()).isEmpty();
            }
            long ok = samples.stream().filter(x -> NativeFramesTest.containsInOrder(x.frames(), expected)).count();
            System.out.printf("%s: sleeping thread, %d of %d samples with libc's sleep under py_sleeper%n", py.label(),
                    ok, samples.size());
            assertThat(samples).as("%s: samples", py.label()).hasSizeGreaterThan(20);
            assertThat((double) ok / samples.size()).as("%s: share of samples with %s; most frequent:\n  %s",
                    py.label(), expected.stream().map(Step::description).toList(), common(samples))
                    .isGreaterThan(0.5);
        }
    }

    /** A thread started only when told to (a line on its stdin), once the session has looked at the target. */
    private static final String LATE_TARGET = String.join("\n",
            "import sys, threading, time",
            "",
            "def py_late_sleeper():",
            "    while True:",
            "        time.sleep(0.05)",
            "",
            "sys.stdout.write('ready\\n')",
            "sys.stdout.flush()",
            "sys.stdin.readline()",
            "t = threading.Thread(target=py_late_sleeper)",
            "t.daemon = True",
            "t.start()",
            "while True:",
            "    time.sleep(0.05)",
            "");

    /**
     * Threads appearing after the session began get their events as they are seen: the thread is started only
     * after the session's first sample, so the events opened at attach cannot cover it, and without its own it
     * would stay {@code <native frames unknown>} (no snapshot, and the blocked-thread route needs a followed
     * thread's CPU time).
     */
    @ForEachPython
    void aThreadStartedDuringTheSessionGetsItsOwnEventsAndIsSplicedOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        assumeNonStop();
        String wait = py.atLeast(3, 11) ? "clock_nanosleep" : "select";
        Pattern waitName = Pattern.compile("(__GI_)?_*" + wait + "\\w*");
        List<Step> expected = List.of(new Step(wait + " in " + LIBC, f -> f.kind() == FrameKind.NATIVE
                && LIBC.equals(f.library()) && waitName.matcher(f.function()).matches()),
                NativeFramesTest.python("py_late_sleeper"));
        Path script = PythonScripts.write("nonstop_late.py", LATE_TARGET);
        try (PythonScripts.Running target = PythonScripts.start(py, script)) {
            List<StackSample> late = new ArrayList<>();
            AtomicBoolean told = new AtomicBoolean();
            try (SamplingSession s = sampler(Sampler.NativeEngine.NON_STOP, Duration.ofMillis(10), Duration.ofSeconds(4))
                    .attach(target.pid())) {
                s.forEach(x -> {
                    // The first sample: the session has looked at the target, and only now is the thread started.
                    if (told.compareAndSet(false, true)) {
                        try {
                            target.send("start");
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    }
                    if (has(x, "py_late_sleeper")) {
                        late.add(x);
                    }
                });
                assertThat(s.failure()).isEmpty();
            }
            long ok = late.stream().filter(x -> NativeFramesTest.containsInOrder(x.frames(), expected)).count();
            System.out.printf("%s: thread started during the session, %d of %d samples with libc's sleep under"
                    + " py_late_sleeper%n", py.label(), ok, late.size());
            Assumptions.assumeTrue(late.size() >= 20, py.label() + ": only " + late.size()
                    + " samples of the late thread in 4 s (a starved sampler or target)");
            assertThat((double) ok / late.size()).as(
                    "%s: share of the late thread's samples with %s; most frequent:\n  %s", py.label(),
                    expected.stream().map(Step::description).toList(), common(late)).isGreaterThan(0.5);
        }
    }

    /** A thread blocked in {@code os.read} on a pipe from before any session, beside a sleeping main thread. */
    private static final String BLOCKED_TARGET = String.join("\n",
            "import os, sys, threading, time",
            "",
            "r, w = os.pipe()",
            "",
            "def py_reader():",
            "    os.read(r, 1)",
            "",
            "t = threading.Thread(target=py_reader)",
            "t.daemon = True",
            "t.start()",
            "time.sleep(0.2)",
            "sys.stdout.write('ready\\n')",
            "sys.stdout.flush()",
            "while True:",
            "    time.sleep(0.05)",
            "");

    /**
     * A thread blocked since before the session leaves its CPU before the perf events exist, so it has no
     * snapshot: its registers come from /proc/PID/task/TID/syscall (SyscallSnapshots) while its CPU time stays
     * the same, and libc's read shows under py_reader without stopping it.
     */
    @ForEachPython
    void aThreadBlockedSinceBeforeTheSessionIsSplicedFromItsSyscallRegistersOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        assumeNonStop();
        Pattern read = Pattern.compile("(__GI_)?_*(libc_)?read(_nocancel)?");
        List<Step> expected = List.of(new Step("read in " + LIBC, f -> f.kind() == FrameKind.NATIVE
                && LIBC.equals(f.library()) && read.matcher(f.function()).matches()),
                NativeFramesTest.python("py_reader"));
        Path script = PythonScripts.write("nonstop_blocked.py", BLOCKED_TARGET);
        try (PythonScripts.Running target = PythonScripts.start(py, script)) {
            List<StackSample> samples = collect(target.pid(), Sampler.NativeEngine.NON_STOP, Duration.ofMillis(10), 4,
                    x -> has(x, "py_reader"), 60);
            List<StackSample> reader = samples.stream().filter(x -> has(x, "py_reader")).toList();
            long ok = reader.stream().filter(x -> NativeFramesTest.containsInOrder(x.frames(), expected)).count();
            System.out.printf("%s: blocked reader, %d of %d samples with libc's read under py_reader%n", py.label(), ok,
                    reader.size());
            Assumptions.assumeTrue(reader.size() >= 10, py.label() + ": only " + reader.size()
                    + " samples of the reader in 4 s (a starved sampler)");
            // The first look has no earlier CPU time to compare with: it stays unspliced.
            assertThat((double) ok / reader.size()).as("%s: share of the reader's samples with %s; most frequent:\n  %s",
                    py.label(), expected.stream().map(Step::description).toList(), common(reader))
                    .isGreaterThan(0.8);
        }
    }

    @ForEachPython
    @ResourceLock(SamplerTest.CPU_BOUND)
    void aThreadRacingThroughPythonCallsIsLeftUnsplicedWithItsPythonFramesOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        assumeNonStop();
        Path script = PythonScripts.write("nonstop_race.py", RACE_TARGET);
        try (PythonScripts.Running target = PythonScripts.start(py, script)) {
            List<StackSample> racer = new ArrayList<>();
            SamplingStats stats;
            try (SamplingSession s = sampler(Sampler.NativeEngine.NON_STOP, Duration.ofMillis(5), Duration.ofSeconds(3))
                    .attach(target.pid())) {
                s.forEach(x -> {
                    if (has(x, "py_racer")) {
                        racer.add(x);
                    }
                });
                stats = s.stats();
            }
            List<StackSample> unknown = racer.stream().filter(x -> !spliced(x)).toList();
            System.out.printf("%s: racing thread, %d of %d samples unspliced; %s%n", py.label(), unknown.size(),
                    racer.size(), stats.nativeSnapshots());
            assertThat(unknown).as("%s: unspliced samples of the racing thread, of %d:\n  %s", py.label(), racer.size(),
                    common(racer)).isNotEmpty();
            assertThat(stats.nativeSnapshots().unspliced()).isGreaterThanOrEqualTo(unknown.size());
            assertThat(unknown).allSatisfy(x -> {
                List<Frame> f = x.frames();
                assertThat(f.getFirst()).isEqualTo(Frame.NATIVE_FRAMES_UNKNOWN);
                assertThat(f.subList(1, f.size())).as("the Python frames under the label").allSatisfy(
                        p -> assertThat(p.kind()).isEqualTo(FrameKind.PYTHON));
                assertThat(f.getLast().function()).isIn("py_racer", "run", "_bootstrap_inner", "_bootstrap",
                        "__bootstrap_inner", "__bootstrap");
            });
        }
    }

    @ForEachPython
    void launchesTheCommandItselfWithoutAShellOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        assumeNonStop();
        Path script = PythonScripts.write("nonstop_launch.py", SLEEP_TARGET);
        // No ptrace, so no shell between this JVM and the command (the brief-stop engine needs one).
        Sampler sampler = Sampler.builder().nativeFrames(true).nativeEngine(Sampler.NativeEngine.NON_STOP)
                .interval(Duration.ofMillis(10)).duration(Duration.ofSeconds(2)).build();
        SamplingStats stats;
        long processPid;
        long sessionPid;
        try (SamplingSession s = sampler.launch(py.processBuilder(script.toString())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD))) {
            s.forEach(x -> {
            });
            stats = s.stats();
            processPid = s.process().orElseThrow().pid();
            sessionPid = s.pid();
            s.process().orElseThrow().destroyForcibly().waitFor();
        }
        assertThat(processPid).as("%s: the launched process is the interpreter", py.label()).isEqualTo(sessionPid);
        assertThat(stats.nativeSnapshots().spliced()).as("%s: %s", py.label(), stats).isPositive();
    }
}
