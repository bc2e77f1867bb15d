package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import dev.spyglass.internal.os.ProcessMap;
import dev.spyglass.testsupport.PythonInterpreter;
import dev.spyglass.testsupport.PythonInterpreters;

/**
 * Targets in a container (own mount and PID namespace, own root file system; see
 * {@link TestContainer}), read from the host: the interpreter's files are found through
 * {@code /proc/PID/root} (or {@code /proc/PID/map_files} once deleted), stacks name the files as the
 * target sees them, and thread ids are the host's TIDs although CPython records its namespaced ones.
 */
@Execution(ExecutionMode.CONCURRENT)
@ResourceLock(SamplerTest.CPU_BOUND)
class ContainerTest {
    private static String unavailable;

    /** The Debian roots (static, non-PIE) as they are, and pyenv shared builds under another path. */
    static Stream<PythonInterpreter> containerPythons() {
        return PythonInterpreters.all().filter(py -> py.origin() == PythonInterpreter.Origin.PROVISIONED
                || py.origin() == PythonInterpreter.Origin.PYENV
                        && (py.version().startsWith("3.12") || py.version().startsWith("3.9")));
    }

    @BeforeAll
    static void checkNamespaces() {
        unavailable = TestContainer.unavailableReason();
    }

    private static void assumeContainers() {
        Assumptions.assumeTrue(unavailable == null, () -> "cannot build containers here: " + unavailable);
    }

    static final String SCRIPT = """
            import os, sys, threading, time

            spinner_tid = []
            started = threading.Event()

            def busy():
                x = 0
                while True:  # LOOP
                    x += 1  # BUSY

            def spin_forever():
                spinner_tid.append(threading.get_native_id())
                started.set()
                busy()  # CALL_BUSY

            def idle_main():
                while True:
                    time.sleep(0.5)  # IDLE

            t = threading.Thread(target=spin_forever, name="spinner")
            t.daemon = True
            t.start()
            started.wait()
            print("ready %d %d %d" % (os.getpid(), threading.get_native_id(), spinner_tid[0]))
            sys.stdout.flush()
            idle_main()  # CALL_IDLE
            """;

    static int line(String marker) {
        return line(SCRIPT, marker);
    }

    static int line(String script, String marker) {
        String[] lines = script.split("\n");
        for (int i = 0; i < lines.length; i++) {
            if (lines[i].endsWith("# " + marker)) {
                return i + 1;
            }
        }
        throw new IllegalArgumentException(marker);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("containerPythons")
    void stacksThreadIdsAndCpuModeInsideAContainer(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        assumeContainers();
        TestContainer.Spec spec = TestContainer.specFor(py, false);
        try (TestContainer c = TestContainer.start(spec, SCRIPT)) {
            long pid = c.hostPid();
            String object = spec.interpreterObject;
            ProcessMap.Mapping m = mappingOf(pid, object);
            assertThat(m.deleted()).isFalse();
            // Either absent on the host, or (the Debian roots' /usr/bin/python3.X) not the same file.
            assertThat(Files.exists(Path.of(object))).as("%s exists on the host", object).isFalse();
            assertThat(ProcessMap.read(pid).openablePath(m)).get().asString()
                    .isEqualTo("/proc/" + pid + "/root" + object);
            checkTarget(py, spec, c);
        }
    }

    /** Also 2.7: the single-threaded script needs no {@code threading.get_native_id}. */
    static Stream<PythonInterpreter> singleThreadPythons() {
        return Stream.concat(containerPythons(), PythonInterpreters.all()
                .filter(py -> py.origin() == PythonInterpreter.Origin.PYENV && py.version().startsWith("2.7")));
    }

    static final String SINGLE = """
            import os, sys, time, threading

            def busy():
                while True:  # LOOP
                    pass  # BUSY

            def idle_main():
                sys.stdin.readline()  # READ
                t = threading.Thread(target=busy)
                t.daemon = True
                t.start()
                while True:
                    time.sleep(0.5)  # IDLE

            sys.stdout.write("ready %d\\n" % os.getpid())
            sys.stdout.flush()
            idle_main()  # CALL_IDLE
            """;

    /**
     * PID 1 in its namespace, one thread when attached, a second one started later: on 3.10 and older
     * the TID comes from glibc's struct pthread, where 1 (the PID the target sees) is no unique
     * landmark; both host TIDs must still be right.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("singleThreadPythons")
    void pidOneAloneThenWithASecondThreadReportsHostTids(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        assumeContainers();
        TestContainer.Spec spec = TestContainer.specFor(py, false);
        try (TestContainer c = TestContainer.start(spec, SINGLE)) {
            long pid = c.hostPid();
            assertThat(c.readyLine()).isEqualTo("ready 1");
            String file = TestContainer.APP_DIR + "/target.py";
            String module = "<module> " + file + ":" + line(SINGLE, "CALL_IDLE");
            List<String> reading = List.of("idle_main " + file + ":" + line(SINGLE, "READ"), module);
            try (PythonProcess p = attach(py, pid)) {
                List<ThreadStack> threads = p.snapshot();
                for (int i = 0; i < 100 && (threads.size() != 1 || !describe(threads.get(0).frames()).equals(reading));
                        i++) {
                    Thread.sleep(20);
                    threads = p.snapshot();
                }
                assertThat(threads).hasSize(1);
                assertThat(describe(threads.get(0).frames())).isEqualTo(reading);
                assertThat(threads.get(0).nativeThreadId()).isEqualTo(pid);
                assertThat(threads.get(0).state()).isEqualTo(ThreadState.IDLE);

                c.send("go\n");
                long other = -1;
                for (int i = 0; i < 250 && other < 0; i++) {
                    Thread.sleep(20);
                    try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
                        other = tasks.mapToLong(t -> Long.parseLong(t.getFileName().toString()))
                                .filter(t -> t != pid).findFirst().orElse(-1);
                    }
                }
                assertThat(other).as("second thread started").isPositive();
                Map<Long, List<String>> byTid = Map.of();
                for (int i = 0; i < 250 && !(byTid.size() == 2 && byTid.containsKey(pid) && byTid.containsKey(other)
                        && byTid.get(pid).get(0).startsWith("idle_main ")); i++) {
                    Thread.sleep(20);
                    byTid = p.snapshot().stream().collect(Collectors.toMap(ThreadStack::nativeThreadId,
                            t -> describe(t.frames()), (a, b) -> List.of("duplicate TID")));
                }
                assertThat(byTid.keySet()).as("host TIDs").containsExactlyInAnyOrder(pid, other);
                assertThat(byTid.get(pid)).containsExactly("idle_main " + file + ":" + line(SINGLE, "IDLE"), module);
                assertThat(byTid.get(other).get(0)).isIn("busy " + file + ":" + line(SINGLE, "LOOP"),
                        "busy " + file + ":" + line(SINGLE, "BUSY"));
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("containerPythons")
    void interpreterFileDeletedAfterStartInsideAContainer(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        assumeContainers();
        TestContainer.Spec spec = TestContainer.specFor(py, true);
        try (TestContainer c = TestContainer.start(spec, SCRIPT)) {
            long pid = c.hostPid();
            Files.delete(c.hostPath(spec.interpreterObject));
            ProcessMap.Mapping m = mappingOf(pid, spec.interpreterObject);
            assertThat(m.deleted()).as("maps marks %s deleted", spec.interpreterObject).isTrue();
            assertThat(ProcessMap.read(pid).openablePath(m)).get().asString()
                    .startsWith("/proc/" + pid + "/map_files/");
            checkTarget(py, spec, c);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("containerPythons")
    void chrootedTargetWhoseMappedPathsExistNowhere(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        assumeContainers();
        TestContainer.Spec spec = TestContainer.specFor(py, false);
        spec.chroot = true;
        try (TestContainer c = TestContainer.start(spec, SCRIPT)) {
            long pid = c.hostPid();
            // The kernel shows the path from the namespace's root mount, through our temporary folder.
            String shown = c.hostPath(spec.interpreterObject).toString();
            ProcessMap.Mapping m = mappingOf(pid, shown);
            assertThat(Files.exists(Path.of(shown))).isFalse();
            assertThat(Files.exists(Path.of("/proc/" + pid + "/root" + shown))).isFalse();
            assertThat(ProcessMap.read(pid).openablePath(m)).get().asString()
                    .startsWith("/proc/" + pid + "/map_files/");
            checkTarget(py, spec, c);
        }
    }

    /** Attaches; a free-threaded build is skipped while Spyglass does not read it (and tested once it does). */
    private static PythonProcess attach(PythonInterpreter py, long pid) throws SpyglassException {
        try {
            return PythonProcess.attach(pid);
        } catch (UnsupportedPythonVersionException e) {
            Assumptions.assumeFalse(py.freeThreaded(), e::getMessage);
            throw e;
        }
    }

    private static ProcessMap.Mapping mappingOf(long pid, String path) throws SpyglassException {
        ProcessMap map = ProcessMap.read(pid);
        return map.mappings().stream().filter(x -> x.path().equals(path)).findFirst()
                .orElseThrow(() -> new AssertionError(path + " not mapped: " + map.files().keySet()));
    }

    /** Snapshot and CPU-mode sampling from the host against the container's target. */
    private static void checkTarget(PythonInterpreter py, TestContainer.Spec spec, TestContainer c) throws Exception {
        long pid = c.hostPid();
        String[] ready = c.readyLine().split(" ");
        assertThat(ready[0]).isEqualTo("ready");
        long nsPid = Long.parseLong(ready[1]);
        long nsMain = Long.parseLong(ready[2]);
        long nsSpinner = Long.parseLong(ready[3]);
        assertThat(nsPid).as("the target is PID 1 of its namespace").isEqualTo(1);
        // Host TID of each thread, from the NSpid lines the kernel shows us.
        Map<Long, Long> hostByNs = new HashMap<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path t : tasks.toList()) {
                long hostTid = Long.parseLong(t.getFileName().toString());
                long[] ids = TestContainer.nsIds(pid, hostTid);
                assertThat(ids).hasSize(2);
                assertThat(ids[0]).isEqualTo(hostTid);
                hostByNs.put(ids[1], hostTid);
            }
        }
        long hostMain = hostByNs.get(nsMain);
        long hostSpinner = hostByNs.get(nsSpinner);
        assertThat(hostMain).isEqualTo(pid).isNotEqualTo(nsMain);
        assertThat(hostSpinner).isNotEqualTo(nsSpinner);

        String file = TestContainer.APP_DIR + "/target.py";
        List<String> mainTop = List.of("idle_main " + file + ":" + line("IDLE"),
                "<module> " + file + ":" + line("CALL_IDLE"));
        Set<Integer> busyLines = Set.of(line("LOOP"), line("BUSY"));
        try (PythonProcess p = attach(py, pid)) {
            assertThat(p.version().toString()).startsWith(py.version());
            List<ThreadStack> threads = snapshotWithBothThreads(p, hostMain);
            assertThat(threads).extracting(ThreadStack::nativeThreadId).as("host TIDs")
                    .containsExactlyInAnyOrder(hostMain, hostSpinner);
            Map<Long, ThreadStack> byTid = threads.stream()
                    .collect(Collectors.toMap(ThreadStack::nativeThreadId, t -> t));
            assertThat(byTid.keySet()).as("host TIDs").containsExactlyInAnyOrder(hostMain, hostSpinner);
            ThreadStack main = byTid.get(hostMain);
            assertThat(describe(main.frames())).isEqualTo(mainTop);
            // Read through the host TID: the kernel says the main thread sleeps. It wakes every 0.5 s and
            // may wait for a CPU then (state R), so look again a few times; the spinner's TID would
            // always say RUNNING.
            ThreadState mainState = main.state();
            for (int i = 0; i < 20 && mainState != ThreadState.IDLE; i++) {
                Thread.sleep(10);
                mainState = p.snapshot().stream().filter(t -> t.nativeThreadId() == hostMain)
                        .map(ThreadStack::state).findFirst().orElse(mainState);
            }
            assertThat(mainState).isEqualTo(ThreadState.IDLE);
            ThreadStack spinner = byTid.get(hostSpinner);
            if (py.atLeast(3, 14)) {
                // 3.14 names the kernel thread after the Python one; read through the host TID.
                assertThat(spinner.threadName()).isEqualTo("spinner");
            }
            List<Frame> sf = spinner.frames();
            assertThat(sf.get(0).function()).isEqualTo("busy");
            assertThat(sf.get(0).file()).isEqualTo(file);
            assertThat(busyLines).contains(sf.get(0).line());
            assertThat(describe(sf.subList(1, 2))).containsExactly("spin_forever " + file + ":" + line("CALL_BUSY"));
            // threading's frames name the container's standard library, which the host does not have.
            List<Frame> threading = sf.subList(2, sf.size());
            assertThat(threading).extracting(Frame::function).contains("run", "_bootstrap_inner", "_bootstrap");
            for (Frame f : threading) {
                assertThat(f.file()).isEqualTo(spec.stdlib + "/threading.py");
                assertThat(Files.exists(Path.of(f.file()))).as("%s exists on the host", f.file()).isFalse();
            }
        }

        // CPU mode: run states are read through host TIDs; only the spinner is on a CPU.
        Sampler sampler = Sampler.builder().interval(Duration.ofMillis(5)).duration(Duration.ofMillis(1500))
                .mode(SamplingMode.CPU).build();
        List<StackSample> samples = new ArrayList<>();
        try (SamplingSession s = sampler.attach(pid)) {
            s.forEach(samples::add);
        }
        assertThat(samples).hasSizeGreaterThan(20);
        long spinning = samples.stream().filter(x -> x.nativeThreadId() == hostSpinner
                && x.state() == ThreadState.RUNNING && !x.frames().isEmpty()
                && x.frames().get(0).function().equals("busy") && x.frames().get(0).file().equals(file)).count();
        assertThat(samples).allSatisfy(x -> assertThat(x.nativeThreadId()).isIn(hostMain, hostSpinner));
        assertThat(samples).allSatisfy(x -> assertThat(x.pid()).isEqualTo(pid));
        assertThat(spinning).as("spinner samples of %s", samples.size()).isGreaterThanOrEqualTo(samples.size() * 9L / 10);
    }

    /**
     * A snapshot once the main thread sleeps in {@code idle_main} (the ready line comes just before)
     * and the spinner's stack was read whole (a torn one is left out of a snapshot).
     */
    private static List<ThreadStack> snapshotWithBothThreads(PythonProcess p, long hostMain)
            throws SpyglassException, InterruptedException {
        List<ThreadStack> threads = p.snapshot();
        for (int i = 0; i < 100 && !settled(threads, hostMain); i++) {
            Thread.sleep(20);
            threads = p.snapshot();
        }
        return threads;
    }

    private static boolean settled(List<ThreadStack> threads, long hostMain) {
        return threads.size() == 2 && threads.stream().anyMatch(t -> t.nativeThreadId() == hostMain
                && !t.frames().isEmpty() && t.frames().get(0).function().equals("idle_main"));
    }

    static List<String> describe(List<Frame> frames) {
        return frames.stream().map(f -> f.function() + " " + f.file() + ":" + f.line()).toList();
    }
}
