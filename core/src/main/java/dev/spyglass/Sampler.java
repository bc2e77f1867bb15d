package dev.spyglass;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import dev.spyglass.internal.kernel.KernelFrames;
import dev.spyglass.internal.python.Launcher;
import dev.spyglass.internal.python.Target;

/**
 * Samples a CPython process's stacks at a fixed interval on a background thread. Immutable and
 * reusable: each {@link #attach} or {@link #launch} starts an independent {@link SamplingSession}.
 *
 * <pre>{@code
 * Sampler sampler = Sampler.builder().interval(Duration.ofMillis(1)).mode(SamplingMode.CPU).build();
 * try (SamplingSession s = sampler.attach(pid)) {
 *     s.forEach(sample -> System.out.println(sample.threadName() + " " + sample.frames().getFirst()));
 * }
 * }</pre>
 */
public final class Sampler {

    /** How long a launched target is held stopped at most, waiting for the sampler's first tick. */
    private static final long FIRST_TICK_WAIT_NANOS = 2_000_000_000L;

    private final Duration interval;
    private final Duration duration;
    private final SamplingMode mode;
    private final int queueCapacity;
    private final Duration launchTimeout;
    private final double cpuLimit;
    private final boolean nativeFrames;
    private final boolean interpreterFrames;
    private final boolean nativeFramesOfAllThreads;
    private final boolean kernelFrames;
    private final NativeEngine nativeEngine;
    private final boolean asyncTasks;
    private final boolean followChildren;

    /**
     * How native frames are taken ({@link Builder#nativeEngine}); see docs/native-frames.md.
     */
    public enum NativeEngine {
        /**
         * At each tick every thread that runs Python code is stopped with ptrace for the microseconds it takes
         * to copy its registers, its stack and its Python stack (the default). Every merged sample is of one
         * instant; a sample whose native and Python stacks disagree is dropped as torn.
         */
        BRIEF_STOP,
        /**
         * No thread is ever stopped: the kernel takes snapshots of each Python thread's registers and stack
         * ({@code perf_event_open}: one per interval of its CPU time, one each time it leaves its CPU), and a
         * snapshot is merged only when the thread provably did not run between it and the read of its Python
         * stack, or showed the same Python stack at the reads just before and after it (which a thread leaving
         * and re-entering one line between two ticks also does). Other samples keep their Python frames
         * under {@link Frame#NATIVE_FRAMES_UNKNOWN}; {@link SamplingStats#nativeSnapshots()} counts both.
         * Needs perf events with kernel sampling (root, {@code CAP_PERFMON}, or
         * {@code kernel.perf_event_paranoid} ≤ 1), checked at attach; not with
         * {@link Builder#nativeFramesOfAllThreads}.
         */
        NON_STOP
    }

    private Sampler(Builder b) {
        this.nativeEngine = b.nativeEngine;
        this.asyncTasks = b.asyncTasks;
        this.followChildren = b.followChildren;
        this.kernelFrames = b.kernelFrames;
        this.nativeFramesOfAllThreads = b.nativeFramesOfAllThreads;
        this.nativeFrames = b.nativeFrames;
        this.interpreterFrames = b.interpreterFrames;
        this.interval = b.interval;
        this.duration = b.duration;
        this.mode = b.mode;
        this.queueCapacity = b.queueCapacity;
        this.launchTimeout = b.launchTimeout;
        this.cpuLimit = b.cpuLimit;
    }

    /** A builder with interval 10 ms, no duration limit, {@link SamplingMode#WALL}, queue of 65,536. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Attaches to {@code pid} and starts sampling at once. With {@link Builder#followChildren}, {@code pid} may
     * also be a process that is not CPython (a shell, a container's init): the session then samples its first
     * CPython descendant, follows all the others, and ends when its whole tree has.
     *
     * @throws ProcessGoneException               no such process
     * @throws AccessDeniedException              its memory may not be read
     * @throws NotAPythonProcessException         no CPython interpreter in it (with children followed: nor in
     *                                            any of its descendants)
     * @throws UnsupportedPythonVersionException  an unknown CPython version
     */
    public SamplingSession attach(long pid) throws SpyglassException {
        if (pid <= 0) {
            throw new IllegalArgumentException("pid must be > 0: " + pid);
        }
        SamplerChecks.permitted(this);
        Target target;
        try {
            target = Target.attach(pid);
        } catch (NotAPythonProcessException e) {
            if (!followChildren) {
                throw e;
            }
            // A shell or a container's init above the Python processes: the first CPython below samples, the
            // whole tree is followed.
            target = SamplerChecks.firstPythonBelow(pid, e);
        }
        return SamplingSession.start(this, target, null, pid);
    }

    /**
     * Starts {@code command} (standard streams inherited), waits until Spyglass is attached to a CPython in it (at
     * most the launch timeout) and starts sampling. The CPython process is held stopped from its start until the
     * sampler has ticked (see docs/java-api.md), so sampling begins before it runs any Python code, and the first
     * samples may show the interpreter's own start-up. The CPython process may be the
     * command itself (after any {@code exec}: shells, pyenv shims) or the first of its descendants that becomes one
     * ({@code sh -c "python3 app.py; ..."}); {@link SamplingSession#pid()} is that process. The session ends when
     * that process exits; the command's exit status is then in {@link SamplingSession#exitStatus()}. A command still
     * running when the session ends (duration, {@link SamplingSession#stop()}) is left running: end it with
     * {@link SamplingSession#process()}. With {@link Builder#nativeFrames} the command runs as the child of a
     * {@code /bin/sh} that stays ({@link SamplingSession#process()} is that shell, and its exit status the command's,
     * 128 + N for a signal): the JDK's process reaper would take the ptrace stops of this JVM's own child.
     *
     * @throws InterpreterNotReadyException no CPython found in time (the command is killed)
     * @throws ProcessGoneException         the command exited first ({@link ProcessGoneException#exitStatus()})
     */
    public SamplingSession launch(List<String> command) throws SpyglassException {
        Objects.requireNonNull(command, "command");
        return launch(new ProcessBuilder(command).inheritIO());
    }

    /** As {@link #launch(List)}, with the redirects, directory and environment of {@code builder}. */
    public SamplingSession launch(ProcessBuilder builder) throws SpyglassException {
        Objects.requireNonNull(builder, "builder");
        SamplerChecks.permitted(this); // before the command starts, rather than killing it
        // With native frames the command runs under a shell that stays: the JDK's process reaper waits for this
        // JVM's own children with waitpid(pid, 0), which would also take a traced child's ptrace stops.
        Launcher.Launched launched = Launcher.launch(builder, launchTimeout, true,
                nativeFrames && nativeEngine == NativeEngine.BRIEF_STOP);
        SamplingSession session;
        try {
            session = SamplingSession.start(this, launched.target(), launched.process(), launched.process().pid());
        } catch (RuntimeException | Error e) {
            Launcher.kill(launched.process());
            throw e;
        }
        // The target is still stopped, before its interpreter initialised: it continues once the sampler has
        // ticked (under load the sampling thread's first tick can take 100 ms), so its first Python code is seen.
        long until = System.nanoTime() + FIRST_TICK_WAIT_NANOS;
        while (session.stats().ticks() == 0 && !session.isFinished() && System.nanoTime() - until < 0) {
            java.util.concurrent.locks.LockSupport.parkNanos(50_000);
        }
        launched.resume();
        return session;
    }

    /**
     * Why this process may not read the kernel frames {@link Builder#kernelFrames} asks for, with what
     * would allow it (a capability, a {@code sysctl}); empty when it may. A caller that wants kernel frames
     * only where they are allowed asks this first and builds its sampler accordingly.
     */
    public static Optional<String> kernelFramesRefusal() {
        return Optional.ofNullable(KernelFrames.refusal());
    }

    /**
     * Why this process may not take native frames with {@link NativeEngine#NON_STOP} (perf events with user
     * stacks: {@code kernel.perf_event_paranoid}, {@code CAP_PERFMON}, a seccomp filter), with what would
     * allow it; empty when it may. A caller that wants them only where allowed asks this first.
     */
    public static Optional<String> nonStopNativeFramesRefusal() {
        return Optional.ofNullable(dev.spyglass.internal.kernel.UserStackSamples.refusal());
    }

    /**
     * Why this process may not sample page faults ({@link SamplingMode#PAGE_FAULTS}: perf events with kernel
     * sampling), with what would allow it; empty when it may. {@link SamplingMode#MEMORY} needs no such right.
     */
    public static Optional<String> pageFaultsRefusal() {
        return Optional.ofNullable(dev.spyglass.internal.kernel.UserStackSamples.pageFaultRefusal());
    }

    /** Which native engine takes native frames ({@link Builder#nativeEngine}); used only with native frames. */
    public NativeEngine nativeEngine() {
        return nativeEngine;
    }

    /** Time between ticks. */
    public Duration interval() {
        return interval;
    }

    /** How long a session samples, or empty for until the target exits or {@link SamplingSession#stop()}. */
    public Optional<Duration> duration() {
        return Optional.ofNullable(duration);
    }

    public SamplingMode mode() {
        return mode;
    }

    public int queueCapacity() {
        return queueCapacity;
    }

    public Duration launchTimeout() {
        return launchTimeout;
    }

    /** The CPU limit of the whole process in cores, 0 for none ({@link Builder#cpuLimit}). */
    public double cpuLimit() {
        return cpuLimit;
    }

    /** Whether samples show {@code asyncio} tasks ({@link Builder#asyncTasks}). */
    public boolean asyncTasks() {
        return asyncTasks;
    }

    /** Whether samples carry native frames merged with the Python ones ({@link Builder#nativeFrames}). */
    public boolean nativeFrames() {
        return nativeFrames;
    }

    /** Whether threads without a Python thread state are sampled too ({@link Builder#nativeFramesOfAllThreads}). */
    public boolean nativeFramesOfAllThreads() {
        return nativeFramesOfAllThreads;
    }

    /** Whether samples carry the kernel's frames innermost ({@link Builder#kernelFrames}). */
    public boolean kernelFrames() {
        return kernelFrames;
    }

    /** Whether CPython processes among the target's descendants are sampled too ({@link Builder#followChildren}). */
    public boolean followChildren() {
        return followChildren;
    }

    /** Whether merged stacks keep the interpreter's own C frames ({@link Builder#interpreterFrames}). */
    public boolean interpreterFrames() {
        return interpreterFrames;
    }

    /** Builds a {@link Sampler}. */
    public static final class Builder {
        private Duration interval = Duration.ofMillis(10);
        private Duration duration;
        private SamplingMode mode = SamplingMode.WALL;
        private int queueCapacity = 65_536;
        private Duration launchTimeout = PythonProcess.DEFAULT_LAUNCH_TIMEOUT;
        private boolean nativeFrames;
        private boolean interpreterFrames;
        private boolean nativeFramesOfAllThreads;
        private boolean kernelFrames;
        private NativeEngine nativeEngine = NativeEngine.BRIEF_STOP;
        private boolean asyncTasks;
        private boolean followChildren;
        private double cpuLimit;

        private Builder() {
        }

        /**
         * Time between ticks: 10 µs to 1 hour. Default 10 ms. Under 1 ms, {@link Sampler#attach(long)} runs the
         * read path for a second before the session's clock starts, so the JVM's compilers have made it fast by
         * the first tick (it returns that second later); {@link Sampler#launch(ProcessBuilder)} does not, so a
         * command's start is not delayed.
         */
        public Builder interval(Duration interval) {
            Objects.requireNonNull(interval, "interval");
            if (interval.compareTo(Duration.ofNanos(10_000)) < 0 || interval.compareTo(Duration.ofHours(1)) > 0) {
                throw new IllegalArgumentException("interval must be between 10 µs and 1 h: " + interval);
            }
            this.interval = interval;
            return this;
        }

        /**
         * Stop after {@code duration} (positive), or {@code null} for no limit (the default). A duration
         * of more than a century is taken as no limit.
         */
        public Builder duration(Duration duration) {
            if (duration != null && (duration.isNegative() || duration.isZero())) {
                throw new IllegalArgumentException("duration must be positive: " + duration);
            }
            this.duration = duration;
            return this;
        }

        /** Which threads to report; default {@link SamplingMode#WALL}. */
        public Builder mode(SamplingMode mode) {
            this.mode = Objects.requireNonNull(mode, "mode");
            return this;
        }

        /**
         * Samples buffered for a slow consumer, 1 to 16,777,216 (default 65,536). When full, new samples
         * are dropped and counted in {@link SamplingStats#droppedSamples()}; the sampler never waits.
         */
        public Builder queueCapacity(int queueCapacity) {
            if (queueCapacity < 1 || queueCapacity > (1 << 24)) {
                throw new IllegalArgumentException("queueCapacity must be 1 .. 16777216: " + queueCapacity);
            }
            this.queueCapacity = queueCapacity;
            return this;
        }

        /**
         * How long {@link Sampler#launch} waits, from the moment the command runs, for a CPython in it to run Python
         * code; default 10 s. A slow start (a pyenv shim or a shell under load, a large program) may need more.
         */
        public Builder launchTimeout(Duration launchTimeout) {
            Objects.requireNonNull(launchTimeout, "launchTimeout");
            if (launchTimeout.isNegative() || launchTimeout.isZero()) {
                throw new IllegalArgumentException("launchTimeout must be positive: " + launchTimeout);
            }
            this.launchTimeout = launchTimeout;
            return this;
        }

        /**
         * Merge native (C) frames into every sample: the functions of C extensions and libraries a thread
         * is in, between the Python frames that called them (see docs/native-frames.md). Default false.
         *
         * <p>With the default engine ({@link #nativeEngine}) this one feature stops the target: at each tick every thread that runs Python code is
         * stopped with ptrace for the few microseconds it takes to copy its registers, its stack and its
         * Python stack, then resumed ({@link SamplingStats#threadStops()} reports how long). It needs the
         * right to trace the target (root, {@code CAP_SYS_PTRACE}, or the same user with Yama's
         * {@code ptrace_scope} 0), and fails at attach otherwise. A thread's sample whose native and
         * Python stacks do not agree is dropped and counted as torn, never guessed. x86-64 only.
         */
        public Builder nativeFrames(boolean nativeFrames) {
            this.nativeFrames = nativeFrames;
            return this;
        }

        /**
         * With {@link #nativeFrames}, keep the interpreter's own C frames (its evaluation loop's helpers,
         * calls between C functions of libpython) instead of hiding them. Default false: a merged stack
         * shows Python frames, the C code of extensions and libraries they call, and a few interpreter
         * functions worth seeing ({@code time_sleep}, waiting for the GIL or a lock).
         */
        public Builder interpreterFrames(boolean interpreterFrames) {
            this.interpreterFrames = interpreterFrames;
            return this;
        }

        /**
         * With {@link #nativeFrames}, also sample the threads the interpreter does not know (a BLAS library's
         * workers, a thread a C extension started), as pystack offers: their samples have native frames only,
         * {@link ThreadStack#pythonThreadId()} 0, {@link ThreadStack#interpreterId()} -1 and the kernel's thread
         * name. Those threads are stopped at each tick too. Default false. Implies {@code nativeFrames(true)}.
         */
        public Builder nativeFramesOfAllThreads(boolean allThreads) {
            this.nativeFramesOfAllThreads = allThreads;
            if (allThreads) {
                this.nativeFrames = true;
            }
            return this;
        }

        /**
         * Put the kernel's frames innermost in every sample: the system call or fault a thread is in
         * ({@code anon_pipe_read ← vfs_read ← ksys_read ← ...} for a blocking {@code os.read}), under its
         * Python frames, or under its native ones with {@link #nativeFrames}. A thread that is not
         * running shows the kernel stack it waits in ({@code /proc/PID/task/TID/stack}); a running thread
         * the kernel part of its latest CPU-clock sample from a {@code perf_event_open} event of its own
         * (see docs/kernel-frames.md). Reading either needs root ({@code CAP_SYS_ADMIN} for the first,
         * {@code CAP_PERFMON} or {@code kernel.perf_event_paranoid} ≤ 1 for the second), checked at attach:
         * {@link AccessDeniedException} says which is missing. Never stops the target. Default false.
         */
        public Builder kernelFrames(boolean kernelFrames) {
            this.kernelFrames = kernelFrames;
            return this;
        }

        /**
         * How {@link #nativeFrames} are taken: {@link NativeEngine#BRIEF_STOP} (the default) stops each Python
         * thread for microseconds per tick, {@link NativeEngine#NON_STOP} never stops a thread and leaves the
         * native frames of a sample unknown where it cannot prove a snapshot of the right instant. Used only
         * with native frames.
         */
        public Builder nativeEngine(NativeEngine nativeEngine) {
            this.nativeEngine = Objects.requireNonNull(nativeEngine, "nativeEngine");
            return this;
        }

        /**
         * Shows {@code asyncio} tasks in the samples of each thread running an event loop (CPython 3.8+;
         * see docs/asyncio-tasks.md). The running task's sample gets a {@code <task NAME>} marker
         * ({@link Frame#asyncTask}) under the task's own coroutine frame, then the await chains of the tasks
         * awaiting it, each under its own marker, then the event loop's frames. In {@link SamplingMode#WALL}
         * each waiting task that awaits no other task also gets a sample of the same weight: its await
         * point, its marker and its awaiters' chains, so a flame graph shows where each task waits. On an
         * older CPython the Python stacks are sampled unchanged (logged once). Default false.
         */
        public Builder asyncTasks(boolean asyncTasks) {
            this.asyncTasks = asyncTasks;
            return this;
        }

        /**
         * Also sample the CPython processes among the target's descendants, as they appear and until each exits
         * (like Austin's {@code -C} and py-spy's {@code --subprocesses}): {@code multiprocessing} workers (fork,
         * spawn, forkserver), {@code subprocess} children, pre-fork servers' workers. A process that is not
         * CPython (a shell, a helper binary) is skipped, its own descendants still followed; a process that
         * {@code exec}s is looked at again. For {@link Sampler#launch} the descendants of the command are
         * followed (its shell's too), for {@link Sampler#attach} those of the process. Processes are found by a
         * scan of the process tree every 100 ms on a thread of their own, so a child that lives less than that
         * may be missed; each is attached with the layout of its own CPython version. Samples carry their
         * process's {@link ThreadStack#pid()}; {@link SamplingSession#processes()} lists the processes and
         * {@link SamplingSession#childProcesses()} counts those skipped. The session then ends when the target
         * and every process followed have exited. Native and kernel frames, when asked for, are taken in every
         * process (a child where they are refused is not sampled). Default false.
         */
        public Builder followChildren(boolean followChildren) {
            this.followChildren = followChildren;
            return this;
        }

        /**
         * Holds this whole JVM to at most {@code cores} of CPU while sampling (0, the default: no limit): past it, the
         * sampling thread waits before its next look (checked every 10 ms on the process's CPU clock), skipping the
         * ticks meanwhile. For a JVM that does little but sample (the command line sets 1); elsewhere the limit
         * counts the JVM's other work too.
         */
        public Builder cpuLimit(double cores) {
            if (!(cores >= 0 && cores <= 1024)) {
                throw new IllegalArgumentException("cpuLimit must be between 0 and 1024 cores: " + cores);
            }
            this.cpuLimit = cores;
            return this;
        }

        /**
         * @throws IllegalStateException {@link #nativeFramesOfAllThreads} with the {@link NativeEngine#NON_STOP}
         *                               engine (threads without Python code have no Python stack to prove a
         *                               snapshot against)
         */
        public Sampler build() {
            if (nativeFramesOfAllThreads && nativeEngine == NativeEngine.NON_STOP) {
                throw new IllegalStateException("nativeFramesOfAllThreads needs the BRIEF_STOP native engine");
            }
            return new Sampler(this);
        }
    }
}
