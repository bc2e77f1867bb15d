package dev.spyglass;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import dev.spyglass.internal.os.ContainerId;
import dev.spyglass.internal.python.AsyncTaskStacks;
import dev.spyglass.internal.python.Launcher;
import dev.spyglass.internal.python.Target;
import dev.spyglass.internal.python.ThreadRecord;

/**
 * A CPython process Spyglass reads from outside: attached by PID or launched from a command. The
 * target is never stopped, signalled or ptrace-attached; its memory is read with
 * {@code process_vm_readv}.
 *
 * <pre>{@code
 * try (PythonProcess py = PythonProcess.attach(pid)) {
 *     for (ThreadStack t : py.snapshot()) {
 *         System.out.println(t.threadName() + " " + t.frames());
 *     }
 * }
 * }</pre>
 *
 * <p>Kernel thread ids: CPython 3.11+ records each thread's TID ({@code native_thread_id}). On 3.10
 * and older only the {@code pthread_t} is recorded; Spyglass then finds the offset of glibc's
 * {@code tid} field in {@code struct pthread} once, by looking for the main thread's TID (which equals
 * the PID) and checking the result against the other threads, and reads each thread's TID from there.
 * When that fails (another C library), {@code nativeThreadId} is -1.
 *
 * <p>Containers: attach with the PID as this JVM sees it. Mapped files are opened through
 * {@code /proc/PID/root} (the target's own file system), or {@code /proc/PID/map_files} when that
 * fails or the file was deleted. A target in another PID namespace records its namespaced thread
 * ids (the main thread is often 1); they are translated to ours through the {@code NSpid} lines of
 * {@code /proc/PID/task/TID/status}, so {@code nativeThreadId} always names a thread in this JVM's
 * {@code /proc}. File names in frames are the target's ({@code co_filename}), as seen inside it.
 *
 * <p>Instances are thread-safe: calls to {@link #snapshot()} are serialised.
 */
public final class PythonProcess implements AutoCloseable {

    /** How long {@link #launch(List)} waits, by default, for the interpreter to initialise. */
    public static final Duration DEFAULT_LAUNCH_TIMEOUT = Duration.ofSeconds(10);

    private final Target target;
    private final Process process;
    private final String container;
    private boolean closed;
    private AsyncTaskStacks asyncTasks;

    private PythonProcess(Target target, Process process) {
        this.target = target;
        this.process = process;
        this.container = ContainerId.of(target.pid());
    }

    /**
     * Attaches to a running CPython process.
     *
     * @param pid the process id, greater than 0
     * @throws ProcessGoneException               no such process, or it exited during attach
     * @throws AccessDeniedException              this JVM may not read the process's memory
     * @throws NotAPythonProcessException         no CPython interpreter found in the process
     * @throws UnsupportedPythonVersionException  a CPython whose layout Spyglass does not know
     * @throws SpyglassException                  any other failure, with its cause
     */
    public static PythonProcess attach(long pid) throws SpyglassException {
        if (pid <= 0) {
            throw new IllegalArgumentException("pid must be > 0: " + pid);
        }
        return new PythonProcess(Target.attach(pid), null);
    }

    /**
     * Starts {@code command} (standard streams inherited from this JVM) and attaches once a CPython in it runs
     * Python code, waiting at most {@link #DEFAULT_LAUNCH_TIMEOUT} from the moment it runs. As for
     * {@link Sampler#launch(List)}: the command is held stopped until Spyglass is attached, and the CPython process
     * may be the command itself or its first descendant that becomes one ({@link #pid()} is that process).
     *
     * @param command the program and its arguments, e.g. {@code ["python3", "app.py"]}
     * @throws InterpreterNotReadyException the interpreter was not initialised in time (the command is
     *                                      killed; the message says which step was missing)
     * @throws ProcessGoneException         the process exited before it was initialised
     * @throws SpyglassException            the command could not be started, or as for {@link #attach}
     */
    public static PythonProcess launch(List<String> command) throws SpyglassException {
        Objects.requireNonNull(command, "command");
        return launch(new ProcessBuilder(command).inheritIO(), DEFAULT_LAUNCH_TIMEOUT);
    }

    /**
     * Starts the process {@code builder} describes (its redirects and environment are used as they
     * are) and attaches once its interpreter is initialised, waiting at most {@code timeout}.
     *
     * @param builder the process to start
     * @param timeout how long to wait for the interpreter, positive
     * @throws InterpreterNotReadyException as for {@link #launch(List)}
     */
    public static PythonProcess launch(ProcessBuilder builder, Duration timeout) throws SpyglassException {
        Objects.requireNonNull(builder, "builder");
        Objects.requireNonNull(timeout, "timeout");
        Launcher.Launched launched = Launcher.launch(builder, timeout, false);
        return new PythonProcess(launched.target(), launched.process());
    }

    /** The process id. */
    public long pid() {
        return target.pid();
    }

    /** The exact CPython version of the target (micro -1 only when no version source held it). */
    public CPythonVersion version() {
        return target.version();
    }

    /**
     * The container the process runs in: the short (12-character) id {@code docker ps}, {@code crictl ps} or
     * {@code podman ps} shows, told from its control group ({@code /proc/PID/cgroup}) when attached; empty when
     * it runs in no container or none can be told (docs/containers.md lists the runtimes recognised).
     */
    public Optional<String> container() {
        return container.isEmpty() ? Optional.empty() : Optional.of(container);
    }

    /** The launched process, or empty for an attached one. */
    public Optional<Process> process() {
        return Optional.ofNullable(process);
    }

    /**
     * One look at every thread of every interpreter, like {@code py-spy dump}. A thread whose stack
     * changed while it was read is read again (up to three times); a thread that stays torn is left
     * out rather than reported with made-up frames.
     *
     * @return one entry per thread, main interpreter first; never null
     * @throws ProcessGoneException the process has exited (also when its PID now names another
     *                              process), or replaced its program with {@code exec}
     *                              ({@link ProcessGoneException#programReplaced()}): the process is held
     *                              by identity since {@link #attach}, never read under its number alone
     */
    public synchronized List<ThreadStack> snapshot() throws SpyglassException {
        if (closed) {
            throw new IllegalStateException("PythonProcess " + pid() + " is closed");
        }
        List<ThreadStack> out = new ArrayList<>();
        for (int attempt = 0; attempt < 3; attempt++) {
            out.clear();
            int n = target.readThreads(SamplingMode.WALL);
            boolean torn = false;
            for (int i = 0; i < n; i++) {
                ThreadRecord t = target.thread(i);
                if (t.torn()) {
                    torn = true;
                    continue;
                }
                out.add(Target.markGarbageCollection(t, target.threadStack(t)));
            }
            if (!torn) {
                break;
            }
        }
        return out;
    }

    /**
     * The {@code asyncio} tasks of every thread's running event loop, at one look, like
     * {@code python -m asyncio pstree}: per task its name, whether it runs or waits, its await chain and the
     * tasks awaiting it. CPython 3.14+ (read through the {@code _asyncio} module's own debug offsets) and
     * 3.8 - 3.13 default builds (read through {@code sys.modules["asyncio.tasks"]}); a
     * thread whose task tree changed while it was read is read again (up to three times), and left out when
     * it stays torn.
     *
     * @return the tasks, thread by thread in the order of {@link #snapshot()}; empty when no thread runs an
     *         event loop (or the program has not imported {@code asyncio})
     * @throws UnsupportedPythonVersionException the target's CPython is older than 3.8, or a free-threaded
     *                                           3.13 (its message says so;
     *                                           {@link #snapshot()} still works)
     * @throws ProcessGoneException              as for {@link #snapshot()}
     */
    public synchronized List<AsyncTask> asyncTasks() throws SpyglassException {
        if (closed) {
            throw new IllegalStateException("PythonProcess " + pid() + " is closed");
        }
        if (asyncTasks == null) {
            asyncTasks = new AsyncTaskStacks(target);
        }
        if (asyncTasks.unavailable().isPresent()) {
            throw new UnsupportedPythonVersionException(asyncTasks.unavailable().get());
        }
        List<AsyncTask> out = new ArrayList<>();
        for (int attempt = 0; attempt < 3; attempt++) {
            out.clear();
            int n = target.readThreads(SamplingMode.WALL);
            boolean torn = false;
            for (int i = 0; i < n; i++) {
                ThreadRecord t = target.thread(i);
                if (t.torn()) {
                    continue;
                }
                List<AsyncTask> tasks = asyncTasks.tasks(t, target.threadStack(t));
                if (tasks == null) {
                    torn = true;
                } else {
                    out.addAll(tasks);
                }
            }
            if (!torn) {
                break;
            }
        }
        return out;
    }

    /** The internal target, for the sampler in this package. */
    Target target() {
        return target;
    }

    /**
     * Detaches: releases buffers and file descriptors. The target keeps running, also a launched one:
     * to end it, call {@code process().ifPresent(Process::destroy)} first.
     */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            target.close();
        }
    }

    @Override
    public String toString() {
        return "PythonProcess[pid=" + pid() + ", " + version() + "]";
    }
}
