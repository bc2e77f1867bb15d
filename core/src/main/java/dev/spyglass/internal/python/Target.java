package dev.spyglass.internal.python;

import java.io.IOException;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.CPythonVersion;
import dev.spyglass.Frame;
import dev.spyglass.ProcessGoneException;
import dev.spyglass.SamplingMode;
import dev.spyglass.SpyglassException;
import dev.spyglass.ThreadStack;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.cpython.abi.PythonVersion;
import dev.spyglass.cpython.abi.StringDecoder;
import dev.spyglass.internal.os.ProcessIdentity;
import dev.spyglass.internal.os.ProcessMap;
import dev.spyglass.internal.os.RemoteMemory;
import dev.spyglass.internal.os.TaskStates;

/**
 * An attached target: its memory reader, located interpreter, stack reader and kernel thread view.
 * Not thread-safe: the public API serialises access.
 */
public final class Target implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Target.class);

    private final long pid;
    private final ProcessIdentity identity;
    private final RemoteMemory memory;
    private final TaskStates tasks;
    private final StackReader reader;
    /** {@link RemoteMemory#syscalls} when the {@link #afterSnapshot} hook ran in this look, else -1. */
    private long syscallsAtSnapshot = -1;
    private boolean readAfterSnapshot = true;
    /** Made once: a look must not allocate. */
    private final Runnable snapshotRead = this::snapshotRead;
    private final ThreadNames names;
    private final CPythonVersion version;
    private boolean closed;

    private Target(long pid, ProcessIdentity identity, RemoteMemory memory, TaskStates tasks, StackReader reader) {
        this.pid = pid;
        this.identity = identity;
        this.memory = memory;
        this.tasks = tasks;
        this.reader = reader;
        Layout layout = reader.interpreter().layout();
        this.names = new ThreadNames(pid, memory, layout, new StringDecoder(layout, 512));
        this.version = apiVersion(reader.version());
    }

    /**
     * The API's version value for the abi module's: the one place they meet, so that the public API
     * does not show the abi module (its layouts and offsets) to users.
     */
    static CPythonVersion apiVersion(PythonVersion v) {
        CPythonVersion.ReleaseLevel level = switch (v.releaseLevel()) {
            case ALPHA -> CPythonVersion.ReleaseLevel.ALPHA;
            case BETA -> CPythonVersion.ReleaseLevel.BETA;
            case CANDIDATE -> CPythonVersion.ReleaseLevel.CANDIDATE;
            case FINAL -> CPythonVersion.ReleaseLevel.FINAL;
        };
        return new CPythonVersion(v.major(), v.minor(), v.micro(), level, v.serial(), v.freeThreaded());
    }

    /** Attaches to a running process (no waiting). */
    public static Target attach(long pid) throws SpyglassException {
        return attach(pid, InterpreterLocator.Options.DEFAULT);
    }

    /** Attaches with locator options (tests). */
    public static Target attach(long pid, InterpreterLocator.Options options) throws SpyglassException {
        // Taken first: everything read from here on must come from this process, running this program.
        ProcessIdentity identity = ProcessIdentity.open(pid);
        ProcessMap map;
        RemoteMemory memory;
        try {
            map = ProcessMap.read(pid);
            memory = RemoteMemory.open(pid, map.firstReadableAddress());
        } catch (SpyglassException | RuntimeException e) {
            identity.close();
            throw e;
        }
        TaskStates tasks = new TaskStates(pid);
        StackReader reader = null;
        try {
            identity.watchProgram(memory);
            LocatedInterpreter loc = InterpreterLocator.locate(pid, map, memory, options);
            reader = new StackReader(pid, memory, loc, tasks);
            if (identity.programMarkAddress() != 0) {
                // The exec check rides in the look's first read: a steady look stays one system call.
                reader.piggyback(identity.programMarkAddress(), identity.programMarkCopy());
            }
            tasks.relist();
            LOG.debug("attached to process {}: CPython {} in {} (head via {})", pid, loc.version(), loc.objectPath(),
                    loc.headSource());
            ProcessGoneException changed = identity.check();
            if (changed != null) {
                throw changed;
            }
            return new Target(pid, identity, memory, tasks, reader);
        } catch (SpyglassException | RuntimeException e) {
            // A process that exec'd or exited while it was examined fails as whatever was read then.
            ProcessGoneException changed = e instanceof SpyglassException && !(e instanceof ProcessGoneException)
                    ? identity.check() : null;
            if (reader != null) {
                reader.close();
            }
            memory.close();
            tasks.close();
            identity.close();
            if (changed != null) {
                throw new ProcessGoneException(pid, changed.getMessage() + " while Spyglass attached ("
                        + e.getMessage() + ")", changed.programReplaced());
            }
            if (e instanceof SpyglassException && !(e instanceof ProcessGoneException) && !isAlive(pid)) {
                throw new ProcessGoneException(pid, "process " + pid + " exited while Spyglass attached ("
                        + e.getMessage() + ")");
            }
            throw e;
        }
    }

    /** {@code false} once the process has exited, including as a zombie not yet reaped. */
    private static boolean isAlive(long pid) {
        try {
            byte[] stat = java.nio.file.Files.readAllBytes(java.nio.file.Path.of("/proc", Long.toString(pid), "stat"));
            for (int i = stat.length - 1; i > 0; i--) {
                if (stat[i] == ')') {
                    byte state = i + 2 < stat.length ? stat[i + 2] : (byte) 'X';
                    return state != 'Z' && state != 'X';
                }
            }
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    public long pid() {
        return pid;
    }

    /** The target's CPython version, as the API reports it. */
    public CPythonVersion version() {
        return version;
    }

    public LocatedInterpreter interpreter() {
        return reader.interpreter();
    }

    public StackReader reader() {
        return reader;
    }

    public RemoteMemory memory() {
        return memory;
    }

    /**
     * Reads every thread (see {@link StackReader#read}): in {@link SamplingMode#CPU} the walk skips the
     * threads not running, and marks them {@link ThreadRecord#skipped()}.
     *
     * <p>After the look, checks that the process is still the one attached, running the same program
     * ({@link ProcessIdentity#check}): a PID reused by a new interpreter (a non-PIE one has the same
     * addresses) or an {@code exec} of the same binary would otherwise read as a healthy target.
     *
     * @return how many records {@link #thread} now holds
     * @throws ProcessGoneException the process exited, its PID names another process now, or it
     *                              replaced its program ({@link ProcessGoneException#programReplaced()})
     */
    public int readThreads(SamplingMode mode) throws SpyglassException {
        if (closed) {
            throw new IllegalStateException("target " + pid + " is closed");
        }
        int n;
        long calls = memory.syscalls();
        try {
            names.look(System.nanoTime());
            n = reader.read(mode);
            readAfterSnapshot = syscallsAtSnapshot < 0 || memory.syscalls() != syscallsAtSnapshot;
        } catch (SpyglassException e) {
            readAfterSnapshot = true;
            // A failed read ("cannot read the interpreter list at 0x...") is most often the process
            // ending or exec'ing under the reader: say that rather than what could not be read.
            ProcessGoneException changed = identity.check();
            if (changed != null) {
                throw changed;
            }
            if (!(e instanceof ProcessGoneException) && !isAlive(pid)) {
                throw new ProcessGoneException(pid, "process " + pid + " exited", false);
            }
            throw e;
        } finally {
            reader.readAhead().afterFlush(null, null);
            syscallsAtSnapshot = -1;
        }
        ProcessGoneException changed = identity.check(memory.syscalls() - calls == 1);
        if (changed != null) {
            throw changed;
        }
        return n;
    }

    /**
     * Reads, and throws away, what the next {@link #readThreads} will read in its first call ({@link
     * ReadAhead#warm}): native frames run it before they stop threads after a long idle time, so that the
     * read made while the threads are held finds the caches warm.
     */
    public void warmReadAhead() throws SpyglassException {
        if (closed) {
            throw new IllegalStateException("target " + pid + " is closed");
        }
        reader.readAhead().warm();
    }

    /**
     * Runs {@code hook} during the next {@link #readThreads}, right after its first read of the target that
     * copies, in one system call, what the previous look found (interpreter, thread states, data-stack
     * chunks or frame objects: {@link ReadAhead}); the code headers follow in a second read, after the hook.
     * Native frames use it to let held threads go as soon as that copy is made rather than after the whole
     * walk. {@link #readAfterSnapshot} then says whether the walk had to read anything more (a new thread, a
     * deeper stack, a new code object): only when it did not is the look exactly what a look of the held
     * threads would have been.
     */
    public void afterSnapshot(Runnable hook) {
        reader.readAhead().afterFlush(hook, snapshotRead);
    }

    /** After the read ahead's last read (the code headers, read once the hook has let held threads go). */
    private void snapshotRead() {
        syscallsAtSnapshot = memory.syscalls();
    }

    /**
     * Whether the last {@link #readThreads} read the target after the {@link #afterSnapshot} hook ran, or
     * the hook did not run (nothing was read ahead, or the look failed).
     */
    public boolean readAfterSnapshot() {
        return readAfterSnapshot;
    }

    /**
     * The kernel's run states of these threads are read now and used by the next looks until
     * {@link #releaseRunStates()} (see {@link TaskStates#holdStates}): for looks taken while the threads are
     * held stopped.
     */
    public void holdRunStates(int[] tids, int n) {
        tasks.holdStates(tids, n);
    }

    /**
     * Every thread id of the process, as last listed (listed again when older than 50 ms), into
     * {@code into}; returns how many (at most {@code into.length}).
     */
    public int allThreadIds(long[] into) {
        int n = 0;
        for (long tid : tasks.recentTids()) {
            if (n == into.length) {
                break;
            }
            into[n++] = tid;
        }
        return n;
    }

    /** The kernel's name ({@code comm}) and run state of any thread of the process, for threads without a Python thread state. */
    public String kernelThreadName(long tid) {
        String n = tasks.name(tid);
        return n != null ? n : "thread-" + tid;
    }

    public dev.spyglass.ThreadState kernelThreadState(long tid) {
        return switch (tasks.state(tid)) {
            case RUNNING -> dev.spyglass.ThreadState.RUNNING;
            case SLEEPING -> dev.spyglass.ThreadState.IDLE;
            case UNKNOWN -> dev.spyglass.ThreadState.UNKNOWN;
        };
    }

    public long kernelThreadStartTime(long tid) {
        return tasks.startTime(tid);
    }

    public void releaseRunStates() {
        tasks.releaseStates();
    }

    public ThreadRecord thread(int i) {
        return reader.thread(i);
    }

    /**
     * The thread's name in Python's {@code threading} registry (see {@link ThreadNames}), else the
     * kernel's name, else {@code thread-<ident>} when its TID is unknown.
     */
    public String threadName(ThreadRecord t) {
        String python = names.name(t);
        if (python != null) {
            return python;
        }
        if (t.nativeThreadId > 0) {
            String n = tasks.name(t.nativeThreadId);
            if (n != null) {
                return n;
            }
        }
        return "thread-" + Long.toUnsignedString(t.pythonThreadId);
    }

    /**
     * The API's value for a thread just read: the one place a {@link ThreadStack} is made from a
     * {@link ThreadRecord}, for snapshots and samples alike. A thread whose values did not change since
     * the record's previous look gets the previous value back, so an idle thread costs no allocation.
     */
    public ThreadStack threadStack(ThreadRecord t) {
        String name = threadName(t);
        List<Frame> frames = t.frameList();
        ThreadStack last = t.lastStack;
        if (last != null && last.frames() == frames && last.nativeThreadId() == t.nativeThreadId
                && last.threadStartTime() == t.startTime && last.pythonThreadId() == t.pythonThreadId && last.interpreterId() == t.interpreterId
                && last.state() == t.state && last.gilHeld() == t.gilHeld() && last.threadName().equals(name)) {
            return last;
        }
        ThreadStack stack = new ThreadStack(pid, t.nativeThreadId, t.startTime, t.pythonThreadId, name,
                t.interpreterId, t.state, t.gilHeld(), frames);
        t.lastStack = stack;
        return stack;
    }

    /**
     * {@code stack} with {@link Frame#GARBAGE_COLLECTION} innermost when the thread was running the garbage
     * collector at the read ({@link ThreadRecord#collectingGarbage}), else {@code stack} itself. Applied to
     * the finished stack (after native frames are merged), so the merge sees only the frames it walked.
     */
    public static ThreadStack markGarbageCollection(ThreadRecord t, ThreadStack stack) {
        if (!t.collectingGarbage()) {
            return stack;
        }
        List<Frame> frames = new java.util.ArrayList<>(stack.frames().size() + 1);
        frames.add(Frame.GARBAGE_COLLECTION);
        frames.addAll(stack.frames());
        return new ThreadStack(stack.pid(), stack.nativeThreadId(), stack.threadStartTime(), stack.pythonThreadId(),
                stack.threadName(), stack.interpreterId(), stack.state(), stack.gilHeld(), frames);
    }

    /** How many times a {@code threading} registry was read (tests, benchmarks). */
    public long threadNameRefreshes() {
        return names.refreshes();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        reader.close();
        memory.close();
        tasks.close();
        identity.close();
    }
}
