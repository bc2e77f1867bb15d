package dev.spyglass.internal.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

import dev.spyglass.Frame;
import dev.spyglass.PythonScripts;
import dev.spyglass.Sampler;
import dev.spyglass.SamplingSession;
import dev.spyglass.SamplingStats;
import dev.spyglass.StackSample;
import dev.spyglass.internal.nativeframes.NativeTargets;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * A real interpreter with a thread blocked in {@code os.read} on a pipe, one in {@code time.sleep} and
 * one spinning in pure Python, sampled with kernel frames: the blocked threads show their system call's
 * kernel path innermost, under their Python (or, with native frames, libc) frames; the spinning thread
 * mostly none.
 */
@Execution(ExecutionMode.CONCURRENT)
class KernelFramesTest {

    static final String SCRIPT = String.join("\n",
            "import os, sys, threading, time",
            "r, w = os.pipe()",
            "def reader():",
            "    os.read(r, 1)  # READ",
            "def sleeper():",
            "    time.sleep(1000)  # SLEEP",
            "def spinner():",
            "    x = 0",
            "    while True:",
            "        x = (x + 1) % 1000",
            "for name, f in (('reader', reader), ('sleeper', sleeper), ('spinner', spinner)):",
            "    t = threading.Thread(target=f, name=name)",
            "    t.daemon = True",
            "    t.start()",
            "sys.stdout.write('ready %d\\n' % os.getpid()); sys.stdout.flush()",
            "while True:",
            "    time.sleep(0.05)",
            "");

    static void assumeKernelFrames() {
        Assumptions.assumeTrue(KernelFrames.refusal() == null, "kernel frames refused here: " + KernelFrames.refusal());
    }

    @ForEachPython
    void blockedThreadsShowTheirSystemCallsKernelPathOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        assumeKernelFrames();
        Path script = PythonScripts.write("kernelframes.py", SCRIPT);
        try (PythonScripts.Running target = PythonScripts.start(py, script)) {
            Map<String, List<StackSample>> byThread = sample(target.pid(), false);
            String figures = py.label() + ": " + summary(byThread);
            System.out.println(figures);
            checkBlocked(byThread, "reader", PythonScripts.lineOf(SCRIPT, "# READ"),
                    n -> n.endsWith("pipe_read"), Frame.FrameKind.PYTHON, figures);
            // time.sleep is clock_nanosleep from 3.11, select() before (2.7: floatsleep; 3.x: pysleep).
            checkBlocked(byThread, "sleeper", PythonScripts.lineOf(SCRIPT, "# SLEEP"),
                    n -> n.contains("nanosleep") || n.contains("select"), Frame.FrameKind.PYTHON, figures);
            checkSpinner(byThread, figures);
        }
    }

    /**
     * A thread reading /dev/zero in a loop is mostly in the kernel when it runs: its running samples get
     * the kernel part of its latest CPU-clock sample ({@code read_zero} under {@code vfs_read}), which
     * only perf gives (the kernel shows no stack file for a running thread). Alone in its process, so
     * that it runs rather than waits for the GIL.
     */
    @ForEachPython
    void aRunningThreadShowsTheKernelPartOfItsLatestSampleOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        assumeKernelFrames();
        Path script = PythonScripts.write("zeroer.py", String.join("\n",
                "import os, sys",
                "def zeroer():",
                "    f = open('/dev/zero', 'rb', 0)",
                "    while True:",
                "        f.read(1 << 20)  # ZERO",
                "sys.stdout.write('ready %d\\n' % os.getpid()); sys.stdout.flush()",
                "zeroer()",
                ""));
        try (PythonScripts.Running target = PythonScripts.start(py, script)) {
            List<StackSample> samples = new ArrayList<>();
            Sampler sampler = Sampler.builder().kernelFrames(true).mode(dev.spyglass.SamplingMode.CPU)
                    .interval(Duration.ofMillis(5)).duration(Duration.ofMillis(800)).build();
            long waitedBefore = PythonScripts.runQueueWaitNanos(target.pid());
            try (SamplingSession s = sampler.attach(target.pid())) {
                s.forEach(samples::add);
                assertThat(s.failure()).isEmpty();
            }
            long waitedMs = (PythonScripts.runQueueWaitNanos(target.pid()) - waitedBefore) / 1_000_000;
            List<StackSample> running = samples.stream().filter(s -> s.frames().stream()
                    .anyMatch(f -> f.function().equals("zeroer"))).toList();
            long withRead = running.stream().filter(KernelFramesTest::hasReadZero).count();
            String figures = py.label() + ": " + withRead + " of " + running.size()
                    + " running samples with read_zero/vfs_read; the target waited " + waitedMs
                    + " ms for a CPU; first: " + (running.isEmpty() ? "none" : running.getFirst().frames());
            System.out.println(figures);
            Assumptions.assumeTrue(running.size() >= 5, "the target ran at only " + running.size() + " looks (load?)");
            // Runnable is not running: a thread waiting for a CPU (seen at load 22) has no CPU-clock sample
            // from the last interval, so no kernel part. Only a target that mostly ran must show one.
            Assumptions.assumeTrue(withRead > 0 || waitedMs < 200, "the machine starves the target (load?): " + figures);
            assertThat(withRead).as(figures).isPositive();
            for (StackSample s : running) {
                List<Frame> frames = s.frames();
                int k = kernelDepth(frames);
                if (k > 0) {
                    assertThat(frames.get(k).function()).as(figures).isEqualTo("zeroer");
                }
            }
        }
    }

    /** How many kernel frames a stack starts with. */
    static int kernelDepth(List<Frame> frames) {
        int k = 0;
        while (k < frames.size() && frames.get(k).kind() == Frame.FrameKind.KERNEL) {
            k++;
        }
        return k;
    }

    private static boolean hasReadZero(StackSample s) {
        List<Frame> frames = s.frames();
        int k = kernelDepth(frames);
        return frames.subList(0, k).stream().anyMatch(f -> f.function().equals("read_zero")
                || f.function().equals("vfs_read"));
    }

    @ForEachPython
    void kernelFramesSitUnderNativeFramesOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        assumeKernelFrames();
        NativeTargets.assumePtrace();
        Path script = PythonScripts.write("kernelnative.py", SCRIPT);
        // Under a shell: the JDK's reaper would take the ptrace stops of the JVM's own child.
        try (PythonScripts.Running target = PythonScripts.startUnderShell(py, script)) {
            Map<String, List<StackSample>> byThread = sample(target.pid(), true);
            String figures = py.label() + " (native): " + summary(byThread);
            System.out.println(figures);
            checkBlocked(byThread, "reader", PythonScripts.lineOf(SCRIPT, "# READ"),
                    n -> n.endsWith("pipe_read"), Frame.FrameKind.NATIVE, figures);
            checkSpinner(byThread, figures);
            // Read before the threads were stopped: a stopped thread's kernel stack is the ptrace stop's.
            assertThat(byThread.values().stream().flatMap(List::stream).flatMap(s -> s.frames().stream())
                    .map(Frame::function)).as(figures).noneMatch(n -> n.contains("ptrace") || n.contains("signal_stop"));
        }
    }

    /**
     * Kernel frames with the no-stop native engine (issue 12: kernel frames with and without native frames, and
     * a target never stopped): a thread blocked since before the session shows its system call's kernel path
     * over libc's read (registers from its {@code /proc/PID/task/TID/syscall}, nothing stopped) and its Python
     * line, and no thread of the target is ever traced.
     */
    @ForEachPython
    void kernelFramesSitUnderTheNonStopEnginesNativeFramesOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        assumeKernelFrames();
        Assumptions.assumeTrue(Sampler.nonStopNativeFramesRefusal().isEmpty(),
                () -> "no-stop native frames refused here: " + Sampler.nonStopNativeFramesRefusal().orElse(""));
        Path script = PythonScripts.write("kernelnonstop.py", SCRIPT);
        try (PythonScripts.Running target = PythonScripts.start(py, script)) {
            Map<String, List<StackSample>> byThread = sample(target.pid(), Sampler.NativeEngine.NON_STOP);
            String figures = py.label() + " (nonstop): " + summary(byThread);
            int line = PythonScripts.lineOf(SCRIPT, "# READ");
            List<StackSample> reader = byThread.getOrDefault("reader", List.of());
            long blocked = reader.stream().filter(s -> s.thread().state() == dev.spyglass.ThreadState.IDLE).count();
            long overLibc = reader.stream().filter(s -> pipeReadOverLibc(s.frames(), line)).count();
            System.out.println(figures + "; reader: " + overLibc + " of " + blocked
                    + " blocked looks with the kernel path over libc's read");
            assertThat(byThread.values().stream().flatMap(List::stream).flatMap(s -> s.frames().stream())
                    .map(Frame::function)).as(figures).noneMatch(n -> n.contains("ptrace") || n.contains("signal_stop"));
            assertThat(java.nio.file.Files.readString(Path.of("/proc/" + target.pid() + "/status")))
                    .as("the target after the session").contains("TracerPid:\t0\n");
            Assumptions.assumeTrue(blocked >= 10, "reader seen blocked at only " + blocked + " looks (load?): "
                    + figures);
            // A thread's first look is never spliced (no earlier CPU time to prove the copy against).
            assertThat(overLibc).as(figures).isGreaterThanOrEqualTo((long) Math.ceil((blocked - 1) * 0.8));
        }
    }

    /** Kernel frames with a pipe read innermost, then libc's read, then the reader's Python line. */
    private static boolean pipeReadOverLibc(List<Frame> frames, int line) {
        int k = kernelDepth(frames);
        return k > 0 && frames.subList(0, k).stream().anyMatch(f -> f.function().endsWith("pipe_read"))
                && frames.size() > k && frames.get(k).kind() == Frame.FrameKind.NATIVE
                && "libc.so.6".equals(frames.get(k).library())
                && frames.stream().anyMatch(f -> f.kind() == Frame.FrameKind.PYTHON && f.function().equals("reader")
                        && f.line() == line);
    }

    private static Map<String, List<StackSample>> sample(long pid, boolean nativeFrames) throws Exception {
        return sample(pid, nativeFrames ? Sampler.NativeEngine.BRIEF_STOP : null);
    }

    /** 800 ms at 5 ms with kernel frames, and native frames by {@code engine} (none when null). */
    private static Map<String, List<StackSample>> sample(long pid, Sampler.NativeEngine engine) throws Exception {
        List<StackSample> samples = new ArrayList<>();
        Sampler.Builder builder = Sampler.builder().kernelFrames(true).nativeFrames(engine != null)
                .interval(Duration.ofMillis(5)).duration(Duration.ofMillis(800));
        if (engine != null) {
            builder.nativeEngine(engine);
        }
        Sampler sampler = builder.build();
        SamplingStats stats;
        java.util.Optional<Throwable> failure;
        try (SamplingSession s = sampler.attach(pid)) {
            s.forEach(samples::add);
            stats = s.stats();
            failure = s.failure();
        }
        assertThat(failure).as("the session's failure").isEmpty();
        assertThat(stats.samples()).as(stats.toString()).isPositive();
        return samples.stream().collect(Collectors.groupingBy(x -> x.thread().threadName()));
    }

    /**
     * Most samples of a thread that never wakes have its kernel path innermost, with a frame {@code call}
     * accepts, and then (after the kernel frames) a frame of kind {@code next}, and its Python line below.
     */
    private static void checkBlocked(Map<String, List<StackSample>> byThread, String thread, int line,
            java.util.function.Predicate<String> call, Frame.FrameKind next, String figures) {
        List<StackSample> samples = byThread.getOrDefault(thread, List.of());
        assertThat(samples).as(thread + ": " + figures).isNotEmpty();
        int withKernel = 0;
        int blocked = 0;
        for (StackSample s : samples) {
            List<Frame> frames = s.frames();
            int k = kernelDepth(frames);
            blocked += s.thread().state() == dev.spyglass.ThreadState.IDLE ? 1 : 0;
            assertThat(frames.subList(k, frames.size())).as(thread + ": kernel frames only innermost: " + frames)
                    .noneMatch(f -> f.kind() == Frame.FrameKind.KERNEL);
            if (k == 0) {
                continue;
            }
            withKernel++;
            List<String> names = frames.subList(0, k).stream().map(Frame::function).toList();
            assertThat(names).as(thread + ": " + frames).anyMatch(call);
            assertThat(frames.get(0).file()).isEqualTo(Frame.KERNEL_FILE);
            assertThat(frames.size()).as(thread + ": something under the kernel: " + frames).isGreaterThan(k);
            assertThat(frames.get(k).kind()).as(thread + ": " + frames).isEqualTo(next);
            assertThat(frames).as(thread + ": " + frames).anyMatch(f -> f.kind() == Frame.FrameKind.PYTHON
                    && f.function().equals(thread) && f.line() == line);
        }
        // The thread never wakes by itself, so a look finds it blocked, except (native frames) while it
        // restarts its system call after the previous look's stop: under load that takes milliseconds, and
        // the look sees it running (seen: 8 of 38 looks at a load of ~10). Blocked looks are counted; 90%
        // leaves room for one that lost it.
        Assumptions.assumeTrue(blocked >= 10, thread + " seen blocked at only " + blocked + " of " + samples.size()
                + " looks (load?): " + figures);
        assertThat(withKernel).as(thread + " samples with kernel frames, of " + blocked + " blocked: " + figures)
                .isGreaterThanOrEqualTo((int) Math.ceil(blocked * 0.9));
    }

    /** A thread spinning in pure Python is in user code at nearly every look. */
    private static void checkSpinner(Map<String, List<StackSample>> byThread, String figures) {
        List<StackSample> samples = byThread.getOrDefault("spinner", List.of());
        long withKernel = samples.stream().filter(s -> !s.frames().isEmpty()
                && s.frames().get(0).kind() == Frame.FrameKind.KERNEL).count();
        assertThat(withKernel).as("spinner samples with kernel frames: " + figures)
                .isLessThanOrEqualTo(samples.size() / 2);
    }

    private static String summary(Map<String, List<StackSample>> byThread) {
        StringBuilder sb = new StringBuilder();
        byThread.forEach((name, samples) -> {
            long k = samples.stream().filter(s -> !s.frames().isEmpty()
                    && s.frames().get(0).kind() == Frame.FrameKind.KERNEL).count();
            sb.append(name).append(' ').append(k).append('/').append(samples.size()).append(" with kernel frames; ");
        });
        byThread.values().stream().flatMap(List::stream).filter(s -> s.thread().threadName().equals("reader"))
                .findFirst().ifPresent(s -> sb.append("reader: ").append(s.frames()));
        return sb.toString();
    }
}
