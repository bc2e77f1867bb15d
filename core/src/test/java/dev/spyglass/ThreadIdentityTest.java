package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

import dev.spyglass.export.ExportFormats;
import dev.spyglass.export.ExportOptions;
import dev.spyglass.export.Exporter;
import dev.spyglass.export.ThreadGrouping;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * Which thread a sample is of, and its name, against real interpreters: thread states not yet bound to
 * an OS thread, idents (and TIDs) reused under thread churn, a thread-per-request server, and a main
 * thread whose name changes when {@code threading} is imported after sampling started.
 */
@Execution(ExecutionMode.CONCURRENT)
class ThreadIdentityTest {

    /** Starts threads all the time: their thread states exist for a while before the thread runs. */
    static final String STARTS = String.join("\n",
            "import sys, threading, time",
            "def quick():",
            "    pass",
            "sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "while True:",
            "    ts = [threading.Thread(target=quick) for k in range(8)]",
            "    for t in ts:",
            "        t.start()",
            "    for t in ts:",
            "        t.join()",
            "");

    /**
     * 3.12+ showed such states as {@code thread-0} (ident 0, TID unknown, no frames); 3.8–3.11 as a second
     * thread with the creator's ident and TID (a second MainThread).
     */
    @ForEachPython
    void threadStatesWithoutAnOsThreadAreNotReportedOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Path script = PythonScripts.write("starts.py", STARTS);
        int snapshots = 0;
        try (PythonScripts.Running target = PythonScripts.start(py, script);
                PythonProcess proc = PythonProcess.attach(target.pid())) {
            long end = System.nanoTime() + 1_500_000_000L;
            List<String> doubled = new ArrayList<>();
            while (System.nanoTime() < end) {
                List<ThreadStack> threads = proc.snapshot();
                snapshots++;
                Set<Long> idents = new HashSet<>();
                int main = 0;
                for (ThreadStack t : threads) {
                    assertThat(t.pythonThreadId()).as("%s: ident of %s", py.label(), t).isNotZero();
                    if (!idents.add(t.pythonThreadId())) {
                        doubled.add(t + " in " + threads);
                    }
                    main += t.threadName().equals("MainThread") ? 1 : 0;
                }
                if (main > 1) {
                    doubled.add("MainThreads in " + threads);
                }
            }
            // Main showed a second MainThread or thread-0 in ~7% of looks. One look in a whole run still
            // showed an ident twice on 3.6 once (1 of 3 full suites; cause not found, see issue 10's note):
            // more than one is a failure.
            assertThat(doubled).as("%s: looks with an ident twice, of %d", py.label(), snapshots).hasSizeLessThanOrEqualTo(1);
        }
        assertThat(snapshots).isPositive();
    }

    /**
     * Threads started and joined one after another (glibc gives each the previous one's pthread_t, the
     * ident): an alpha thread runs alpha_work, a beta thread beta_work. A sample of one must never carry
     * the other kind's name (the previous owner of its ident or TID).
     */
    static final String ALTERNATING = String.join("\n",
            "import sys, threading, time",
            "def alpha_work():",
            "    end = time.time() + 0.012",
            "    while time.time() < end:",
            "        pass",
            "def beta_work():",
            "    end = time.time() + 0.012",
            "    while time.time() < end:",
            "        pass",
            "sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "n = 0",
            "while True:",
            "    alpha = n % 2 == 0",
            "    t = threading.Thread(target=alpha_work if alpha else beta_work,",
            "                         name=('alpha-%d' if alpha else 'beta-%d') % n)",
            "    t.start()",
            "    t.join()",
            "    n += 1",
            "");

    @ForEachPython
    void churnedThreadsNeverCarryAnotherThreadsNameOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Path script = PythonScripts.write("alternating.py", ALTERNATING);
        Sampler sampler = Sampler.builder().interval(Duration.ofMillis(1)).duration(Duration.ofMillis(2500)).build();
        List<StackSample> samples = new ArrayList<>();
        try (PythonScripts.Running target = PythonScripts.start(py, script);
                SamplingSession s = sampler.attach(target.pid())) {
            s.forEach(samples::add);
        }
        int named = 0;
        List<String> wrong = new ArrayList<>();
        for (StackSample x : samples) {
            String kind = kind(x);
            if (kind == null) {
                continue;
            }
            String name = x.threadName();
            if (name.startsWith("alpha-") || name.startsWith("beta-")) {
                named++;
                if (!name.startsWith(kind + "-")) {
                    List<String> sameTid = new ArrayList<>();
                    for (StackSample y : samples) {
                        if (y.nativeThreadId() == x.nativeThreadId()) {
                            sameTid.add(y.threadName() + "/" + kind(y) + "/" + y.timestampNanos() / 100_000 % 100_000);
                        }
                    }
                    wrong.add(name + " on " + kind + "_work (TID " + x.nativeThreadId() + " at "
                            + x.timestampNanos() / 100_000 % 100_000 + ", its samples: " + sameTid + ")");
                }
            }
        }
        Assumptions.assumeTrue(named >= 50, py.label() + ": only " + named + " named samples of the churning threads "
                + "in 2.5 s (the machine starves the target)");
        // One race remains on <=3.10, where the TID is read from glibc's struct pthread after the thread
        // state: a thread ending between the two reads, whose pthread_t its successor already took, is seen
        // once with the successor's TID and name but its own last frames. Rare (main had 8-24% wrong).
        assertThat((double) wrong.size()).as("%s: of %d named samples: %s", py.label(), named, wrong)
                .isLessThanOrEqualTo(Math.max(2, 0.01 * named));
        // Every root of a per-thread flame graph holds one kind only.
        String collapsed = export(samples, ThreadGrouping.EACH);
        Map<String, Map<String, Long>> kindsByRoot = new LinkedHashMap<>();
        for (String line : collapsed.split("\n")) {
            String[] parts = line.split(";");
            String k = line.contains(";alpha_work (") ? "alpha" : line.contains(";beta_work (") ? "beta" : null;
            if (k != null) {
                kindsByRoot.computeIfAbsent(parts[1], r -> new LinkedHashMap<>()).merge(k,
                        Long.parseLong(line.substring(line.lastIndexOf(' ') + 1)), Long::sum);
            }
        }
        assertThat(kindsByRoot).isNotEmpty();
        List<String> misnamed = new ArrayList<>();
        kindsByRoot.forEach((root, kinds) -> {
            if (root.matches("thread \\d+ \\(thread-\\d+\\)")) {
                // TID unknown (a thread ending on <=3.10): the ident stands in, and idents are reused.
                return;
            }
            List<String> debug = new ArrayList<>();
            for (StackSample y : samples) {
                if (root.startsWith("thread " + y.nativeThreadId() + " ")) {
                    debug.add(y.threadName() + "/" + kind(y) + "/" + y.threadStartTime() + "/" + y.pythonThreadId()
                            + "/" + y.timestampNanos() / 100_000 % 100_000);
                }
            }
            long minority = kinds.values().stream().mapToLong(Long::longValue).min().orElse(0);
            long total = kinds.values().stream().mapToLong(Long::longValue).sum();
            assertThat(kinds.size() == 1 || minority <= Math.max(2, 0.01 * total))
                    .as("%s: kinds under %s: %s (%s)", py.label(), root, kinds, debug).isTrue();
            if (!root.contains("(alpha-") && !root.contains("(beta-")) {
                return;
            }
            String major = kinds.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
            if (!root.contains("(" + major + "-")) {
                misnamed.add(root + " ran " + kinds);
            }
        });
        // A registry read that lands while one thread ends and the next takes its ident can still name
        // the ended thread after its successor (seen once in ~40 roots on 3.12 at load 13; main named
        // 8-24% of samples wrongly): the same tolerance as for samples above.
        assertThat(misnamed.size()).as("%s: roots named after another thread: %s", py.label(), misnamed)
                .isLessThanOrEqualTo(Math.max(1, kindsByRoot.size() / 100));
    }

    private static String kind(StackSample x) {
        for (Frame f : x.frames()) {
            if (f.function().equals("alpha_work")) {
                return "alpha";
            }
            if (f.function().equals("beta_work")) {
                return "beta";
            }
        }
        return null;
    }

    /** Busy in before() until argv[1] exists, then imports threading and is busy in after(). */
    static final String LATE_THREADING = String.join("\n",
            "import os, sys, time",
            "sys.stdout.write('ready %d\\n' % ('threading' in sys.modules)); sys.stdout.flush()",
            "def before():",
            "    while not os.path.exists(sys.argv[1]):",
            "        pass",
            "def after():",
            "    end = time.time() + 2",
            "    while time.time() < end:",
            "        pass",
            "before()",
            "import threading",
            "after()",
            "while True:",
            "    time.sleep(0.05)",
            "");

    /** The main thread has its kernel name until threading is imported, then MainThread: one root, MainThread. */
    @ForEachPython
    void mainThreadKeepsOneNameWhenThreadingIsImportedLateOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Path script = PythonScripts.write("late.py", LATE_THREADING);
        Path trigger = Files.createTempFile("spyglass-late-", ".flag");
        Files.delete(trigger);
        Sampler sampler = Sampler.builder().interval(Duration.ofMillis(2)).duration(Duration.ofMillis(2200)).build();
        List<StackSample> samples = new ArrayList<>();
        try (PythonScripts.Running target = PythonScripts.start(py, script, trigger.toString())) {
            Assumptions.assumeTrue(target.readyLine().strip().endsWith("0"),
                    py.label() + " imports threading at start-up");
            try (SamplingSession s = sampler.attach(target.pid())) {
                Thread.startVirtualThread(() -> {
                    try {
                        Thread.sleep(400);
                        Files.writeString(trigger, "go");
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                s.forEach(samples::add);
            }
        } finally {
            Files.deleteIfExists(trigger);
        }
        Set<String> namesBefore = new HashSet<>();
        Set<String> namesAfter = new HashSet<>();
        for (StackSample x : samples) {
            if (x.frames().stream().anyMatch(f -> f.function().equals("before"))) {
                namesBefore.add(x.threadName());
            } else if (x.frames().stream().anyMatch(f -> f.function().equals("after"))) {
                namesAfter.add(x.threadName());
            }
        }
        Assumptions.assumeTrue(!namesBefore.isEmpty() && namesAfter.contains("MainThread"),
                py.label() + ": samples before and after the import not both taken (load?)");
        String collapsed = export(samples, ThreadGrouping.EACH);
        Set<String> roots = new HashSet<>();
        for (String line : collapsed.split("\n")) {
            if (line.contains(";before (") || line.contains(";after (")) {
                roots.add(line.split(";")[1]);
            }
        }
        assertThat(roots).as("%s: roots of the main thread (names seen: %s then %s)", py.label(), namesBefore,
                namesAfter).hasSize(1);
        assertThat(roots.iterator().next()).endsWith("(MainThread)");
    }

    /** socketserver's ThreadingMixIn: a thread per request, each started after the previous one ended. */
    static final String SERVER = String.join("\n",
            "import socket, sys, threading, time",
            "try:",
            "    import socketserver",
            "except ImportError:",
            "    import SocketServer as socketserver",
            "class Handler(socketserver.BaseRequestHandler):",
            "    def handle(self):",
            "        self.request.recv(16)",
            "        end = time.time() + 0.008",
            "        while time.time() < end:",
            "            pass",
            "        self.request.sendall(b'ok')",
            "srv = socketserver.ThreadingTCPServer(('127.0.0.1', 0), Handler)",
            "srv.daemon_threads = True",
            "st = threading.Thread(target=srv.serve_forever, name='server')",
            "st.daemon = True",
            "st.start()",
            "sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "for i in range(150):",
            "    c = socket.create_connection(srv.server_address)",
            "    c.sendall(b'x')",
            "    c.recv(16)",
            "    c.close()",
            "open(sys.argv[1], 'w').write('done')",
            "while True:",
            "    time.sleep(0.05)",
            "");

    @ForEachPython
    void threadPerRequestServerGivesOneRootToItsRequestThreadsOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Path script = PythonScripts.write("server.py", SERVER);
        Path done = Files.createTempFile("spyglass-server-", ".flag");
        Files.delete(done);
        Sampler sampler = Sampler.builder().interval(Duration.ofMillis(1)).duration(Duration.ofSeconds(20)).build();
        List<StackSample> samples = new ArrayList<>();
        long waited;
        long recorded;
        try (PythonScripts.Running target = PythonScripts.start(py, script, done.toString());
                SamplingSession s = sampler.attach(target.pid())) {
            long waitedBefore = PythonScripts.runQueueWaitNanos(target.pid());
            long started = System.nanoTime();
            Thread.startVirtualThread(() -> {
                try {
                    while (!Files.exists(done)) {
                        Thread.sleep(10);
                    }
                } catch (InterruptedException e) {
                    // stop anyway
                }
                s.stop();
            });
            s.forEach(samples::add);
            waited = PythonScripts.runQueueWaitNanos(target.pid()) - waitedBefore;
            recorded = System.nanoTime() - started;
        } finally {
            Files.deleteIfExists(done);
        }
        long handled = samples.stream().filter(x -> x.frames().stream().anyMatch(f -> f.function().equals("handle")))
                .count();
        Assumptions.assumeTrue(handled >= 50, py.label() + ": only " + handled + " samples in handle()");
        // Default grouping: the request threads share one root (a thread sampled only before threading
        // registered it, or after its task was gone, may keep its kernel name or thread-<ident>).
        Map<String, Long> roots = handlerRoots(export(samples, ThreadGrouping.PATTERN));
        long total = roots.values().stream().mapToLong(Long::longValue).sum();
        assertThat(roots.keySet()).as("%s: roots of handle()", py.label()).anyMatch(r -> r.startsWith("Thread-*"));
        String main = roots.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
        assertThat(main).as("%s: roots of handle() %s", py.label(), roots).startsWith("Thread-*");
        // A request thread sampled before threading registered it keeps its kernel name; on a loaded
        // machine its 8 ms of work stretch while registry reads lag (87% at load 13): a skip with the figure.
        long waitedMs = waited / 1_000_000;
        long recordedMs = recorded / 1_000_000;
        Assumptions.assumeTrue(roots.get(main) >= 0.9 * total || waited < recorded / 10, () -> String.format(
                "machine overloaded: the target's threads waited %d ms for a CPU in %d ms; handle() under %s: %s",
                waitedMs, recordedMs, main, roots));
        assertThat((double) roots.get(main)).as("%s: handle() samples under %s of %s", py.label(), main, roots)
                .isGreaterThanOrEqualTo(0.9 * total);
        // One root per thread: named after the threads, not thread-<ident>, each thread its own root.
        String each = export(samples, ThreadGrouping.EACH);
        long fallback = 0;
        long all = 0;
        for (String line : each.split("\n")) {
            if (line.contains("handle (")) {
                long n = Long.parseLong(line.substring(line.lastIndexOf(' ') + 1));
                all += n;
                fallback += line.split(";")[1].matches("thread \\d+ \\(thread-\\d+\\)") ? n : 0;
            }
        }
        assertThat((double) fallback).as("%s: handle() samples under thread-<ident> roots", py.label())
                .isLessThanOrEqualTo(0.05 * all);
    }

    /** Root → samples of handle() under it. */
    private static Map<String, Long> handlerRoots(String collapsed) {
        Map<String, Long> roots = new LinkedHashMap<>();
        for (String line : collapsed.split("\n")) {
            if (line.contains("handle (")) {
                roots.merge(line.split(";")[1], Long.parseLong(line.substring(line.lastIndexOf(' ') + 1)), Long::sum);
            }
        }
        return roots;
    }

    static String export(List<StackSample> samples, ThreadGrouping threads) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (Exporter e = ExportFormats.installed().byName("collapsed").orElseThrow().create(out,
                ExportOptions.builder().threads(threads).build())) {
            samples.forEach(e::accept);
        }
        return out.toString(StandardCharsets.UTF_8);
    }
    /**
     * A launched program imports threading at once and starts a thread: its samples carry the Python
     * name within a few tens of milliseconds, not after the one-second refresh (105 of 200 samples of
     * such a thread were named by the kernel before the fix; the registry was looked for once a second).
     */
    @ForEachPython
    void aLaunchedProgramsThreadsHaveTheirPythonNamesAlmostAtOnceOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Path script = PythonScripts.write("early.py", String.join("\n",
                "import threading, time",
                "def work():",
                "    end = time.time() + 1.2",
                "    while time.time() < end:",
                "        time.sleep(0.002)",
                "t = threading.Thread(target=work, name='named-worker')",
                "t.start()",
                "t.join()",
                ""));
        Sampler sampler = Sampler.builder().interval(Duration.ofMillis(5)).build();
        List<StackSample> samples = new ArrayList<>();
        try (SamplingSession s = sampler.launch(py.processBuilder(script.toString())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD))) {
            s.forEach(samples::add);
        }
        List<StackSample> worker = samples.stream().filter(x -> x.frames().stream()
                .anyMatch(f -> f.function().equals("work"))).toList();
        Assumptions.assumeTrue(worker.size() >= 20, py.label() + ": only " + worker.size()
                + " samples of the worker (load?)");
        long named = worker.stream().filter(x -> x.threadName().equals("named-worker")).count();
        String figures = py.label() + ": " + named + " of " + worker.size() + " worker samples named by Python; others "
                + worker.stream().map(StackSample::threadName).filter(n -> !n.equals("named-worker")).distinct().toList();
        System.out.println(figures);
        assertThat(named).as(figures).isGreaterThan(worker.size() * 6L / 10);
    }
}
