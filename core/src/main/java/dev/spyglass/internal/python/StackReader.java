package dev.spyglass.internal.python;

import java.lang.foreign.Arena;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.Frame;
import dev.spyglass.SamplingMode;
import dev.spyglass.SpyglassException;
import dev.spyglass.ThreadState;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.cpython.abi.PythonVersion;
import dev.spyglass.cpython.abi.StringDecoder;
import dev.spyglass.internal.kernel.SwitchRecords;
import dev.spyglass.internal.os.MemoryFault;
import dev.spyglass.internal.os.PthreadTids;
import dev.spyglass.internal.os.RemoteMemory;
import dev.spyglass.internal.os.TaskStates;

/**
 * Reads every thread of every interpreter of a target, and each thread's Python frames, into reused
 * {@link ThreadRecord}s. It coordinates, per look: the {@link InterpreterWalker} (runtime,
 * interpreters, GIL), the {@link ThreadStateReader}, the kernel's view of each thread (TID, run state),
 * the era's {@link FrameWalker} (chosen once for the layout) and the {@link CodeResolver}; the
 * {@link ReadAhead} lets a steady target be read in one call per look.
 *
 * <p>Cost per look (3.11+): one call for the runtime words, one per interpreter, one per thread
 * state, one for the thread's data-stack chunk (frames outside it, e.g. of generators, cost one call
 * each), one for the headers of the distinct code objects of the thread; in the steady state all of
 * these come with the first call for the first eight threads, and the thread states of
 * the others with one more call. A thread the kernel shows was not put on a CPU since a look that saw it
 * sleeping keeps that look's frames ({@link dev.spyglass.internal.os.TaskStates#lookState}): no walk, no read.
 * From {@value #SWITCH_ROUTE_THREADS} threads on, the kernel's context-switch records ({@link SwitchRecords},
 * where this JVM may open them) tell that without a {@code /proc} read per thread.
 *
 * <p>Torn reads (the target changed while we read) are detected, never papered over: a bounded depth,
 * a cycle check, every pointer read through the kernel, code objects must have the code type,
 * instruction pointers must lie inside their code, names must decode, and (3.11+) the frame chain must
 * hold together where a returned C call's frames on the C stack may have been read
 * ({@link ChunkFrameWalker}). A torn thread is marked
 * {@link ThreadRecord#torn()} and carries no frames. Not thread-safe.
 */
public final class StackReader implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StackReader.class);
    /**
     * A look of at least this many threads opens the switch records: below it the per-thread {@code schedstat}
     * reads cost less than having the kernel record every switch of the machine.
     */
    static final int SWITCH_ROUTE_THREADS = 16;
    /** Ring pages per CPU: ~5,000 switches, a quarter of a second of a busy 2-core machine between two looks. */
    static final int SWITCH_RING_PAGES = 128;
    /**
     * A stack is taken over for at most this long after it was walked, then walked again whatever the proof says:
     * the kernel drops a switch-in now and then without a lost record (about 1 in 100 pairs of a task's switches in
     * a {@code perf record} of the whole machine here, Linux 6.18), and a thread woken so goes unseen until its next
     * switch-out ({@link dev.spyglass.internal.os.TaskStates#missedSwitchIns}); a long run must not keep its old stack.
     */
    static final long MAX_TAKEOVER_NANOS = 100_000_000L;
    /** {@code -Dspyglass.switchRecords=false}: per-thread {@code /proc} reads only (to compare the routes). */
    static final String SWITCH_RECORDS_PROPERTY = "spyglass.switchRecords";
    /** Deeper stacks are taken for a cycle or garbage (CPython's default recursion limit is 1000). */
    public static final int MAX_DEPTH = FrameWalker.MAX_DEPTH;
    static final int MAX_STRING_CHARS = 4096;
    private static final int STRING_PREFIX = 256;

    private final RemoteMemory memory;
    private final LocatedInterpreter loc;
    private final TaskStates tasks;
    private final PthreadTids pthreadTids;
    private final Arena arena = Arena.ofShared();
    private final ReadAhead ahead;
    private final InterpreterWalker interpreters;
    private final ThreadStateReader threadStates;
    private final FrameWalker frames;
    private final CodeObjects codeObjects;
    private final CodeResolver codes;
    private final ThreadRecords records = new ThreadRecords();
    private final WalkedFrames walked = new WalkedFrames();
    private final InterpreterWalker.Visitor readThreads = this::readThreads;
    private long[] pthreads = new long[16];
    private long reusedStacks;
    /** When the current look began ({@link #read}). */
    private long lookNanos;
    private final long pid;
    private SwitchRecords switches;
    private SwitchRecords.Visitor switched;
    private boolean switchesTried;
    /** 3.11: {@link ThreadRecord#topFrame} is {@code tstate->cframe}, not a frame. */
    private final boolean cframeEra;
    private boolean runningOnly;
    /** {@link SamplingMode#GIL}: only the GIL's holder, where the interpreter shows it. */
    private boolean gilOnly;

    public StackReader(long pid, RemoteMemory memory, LocatedInterpreter loc, TaskStates tasks) {
        this.pid = pid;
        this.memory = memory;
        this.loc = loc;
        this.tasks = tasks;
        this.pthreadTids = tasks == null ? null : new PthreadTids(pid, memory, tasks);
        Layout layout = loc.layout();
        boolean chunkFrames = loc.version().isAtLeast(3, 11);
        cframeEra = chunkFrames && !loc.version().isAtLeast(3, 12);
        ReaderSpans spans = new ReaderSpans(layout, chunkFrames);
        ahead = new ReadAhead(memory, layout, spans, !chunkFrames);
        interpreters = new InterpreterWalker(pid, memory, loc, spans, ahead, arena);
        threadStates = new ThreadStateReader(layout, memory, spans, ahead, arena);
        frames = FrameWalker.forLayout(layout, memory, spans, ahead, arena);
        RemoteObjects objects = new RemoteObjects(memory, layout, new StringDecoder(layout, MAX_STRING_CHARS),
                STRING_PREFIX);
        codeObjects = new CodeObjects(layout, memory, objects, spans, loc.codeTypeAddress(),
                new FrameInterner(FrameInterner.DEFAULT_CAPACITY));
        codes = new CodeResolver(layout, memory, spans, ahead, codeObjects, arena);
    }

    public PythonVersion version() {
        return loc.version();
    }

    public LocatedInterpreter interpreter() {
        return loc;
    }

    /** Code objects decoded so far (a steady state decodes none). */
    public long codeDecodes() {
        return codeObjects.decodes();
    }

    /**
     * Stacks taken over from the previous look because the thread provably did not run since (see
     * {@link TaskStates#lookState}), for tests and benchmarks.
     */
    public long reusedStacks() {
        return reusedStacks;
    }

    /**
     * Thread states (past the first eight threads) not read again because their threads provably had not run since
     * the previous look, and the next thread's neither (see {@code ReadAheadThreadStates#read}): tests, benchmarks.
     */
    public long threadStatesKept() {
        return ahead.threadStatesKept();
    }

    /** How the latest look knew where thread {@code tid} was, and the switch records' counters (tests). */
    public String describe(long tid) {
        return tasks == null ? "no task states"
                : tasks.describe(tid) + (switches == null ? ""
                        : "; records " + switches.records() + ", lost " + switches.lost() + ", full drains "
                                + switches.fullDrains());
    }

    /** Thread looks answered from the switch records so far (see {@link TaskStates#switchLooks}). */
    public long switchLooks() {
        return tasks == null ? 0 : tasks.switchLooks();
    }

    /** Whether the kernel's switch records are followed (else each thread's {@code /proc} files are read). */
    public boolean followsSwitches() {
        return switches != null;
    }

    /**
     * Drains the switch records before the look reads any thread's state (their proof runs from one look's drain
     * to the next), opening them at the first look after one of {@link #SWITCH_ROUTE_THREADS} threads or more.
     */
    private void followSwitches() {
        if (switches == null) {
            if (switchesTried || records.count() < SWITCH_ROUTE_THREADS) {
                return;
            }
            switchesTried = true;
            if (!Boolean.parseBoolean(System.getProperty(SWITCH_RECORDS_PROPERTY, "true"))) {
                LOG.debug("run states of process {}'s threads from /proc schedstat: {}=false", pid,
                        SWITCH_RECORDS_PROPERTY);
                return;
            }
            try {
                switches = SwitchRecords.open(SWITCH_RING_PAGES);
            } catch (SpyglassException e) {
                LOG.debug("run states of process {}'s threads from /proc schedstat: no sched_switch records ({})", pid,
                        e.getMessage());
                return;
            }
            switched = tasks::switched;
            tasks.followSwitches();
            // Thread states of threads the records prove idle keep their copies (ReadAheadThreadStates#read).
            ahead.idleThreads(tasks::idleSinceLastLook);
            LOG.debug("run states of process {}'s threads from sched_switch records on {} CPUs", pid, switches.cpus());
        }
        if (!switches.drain(switched)) {
            // Unknown switches: every thread goes through /proc this look, and until it is seen switching again.
            tasks.switchesLost();
        }
    }

    /** Threads read by the latest {@link #read}. */
    public int count() {
        return records.count();
    }

    /**
     * Also reads {@code dst.byteSize()} bytes at {@code address} into {@code dst} in the first call of
     * every look (the target's identity: {@link Target}); a look that cannot read them fails.
     */
    public void piggyback(long address, java.lang.foreign.MemorySegment dst) {
        interpreters.piggyback(address, dst);
    }

    /** The read-ahead of the looks, for {@link Target} (its hook after the first call, its warm read). */
    ReadAhead readAhead() {
        return ahead;
    }

    public ThreadRecord thread(int i) {
        return records.get(i);
    }

    /**
     * Reads all threads. In {@link SamplingMode#CPU}, threads the kernel does not show running (and
     * whose TID is unknown and that do not hold the GIL) are marked skipped and not walked; in
     * {@link SamplingMode#GIL} the threads that do not hold their interpreter's GIL (where it is known).
     *
     * @return the number of thread records filled
     * @throws dev.spyglass.ProcessGoneException the process has exited
     */
    public int read(SamplingMode mode) throws SpyglassException {
        this.runningOnly = mode != SamplingMode.WALL;
        this.gilOnly = mode == SamplingMode.GIL || mode == SamplingMode.MEMORY;
        if (tasks != null) {
            followSwitches();
        }
        lookNanos = System.nanoTime();
        records.clear();
        frames.newLook();
        interpreters.walk(records, readThreads);
        ahead.remember(records.array(), records.count(), interpreters.firstAddress(), interpreters.firstGil());
        return records.count();
    }

    private void readThreads(InterpreterWalker.Interpreter interp) throws SpyglassException {
        int first = records.count();
        threadStates.read(interp, records);
        for (int i = first; i < records.count(); i++) {
            ThreadRecord r = records.get(i);
            if (r.torn) {
                continue;
            }
            if (r.pythonThreadId == 0) {
                // 3.12+: a thread state is made by the thread that starts the new one and bound to its OS
                // thread (thread_id, native_thread_id set) only when that thread runs (bind_tstate). Until
                // then no thread is there to sample: not a sample, not a torn one.
                records.remove(i--);
                continue;
            }
            observeKernelThread(r);
            r.collectingGarbage = interp.gcCollecting && r.gil == 2;
            // GIL mode: the holder only, where the GIL's holder is known (r.gil 1 or 2); else as CPU mode.
            if (gilOnly && r.gil != 0 ? r.gil != 2
                    : runningOnly && r.state != ThreadState.RUNNING && !(r.state == ThreadState.UNKNOWN && r.gil == 2)) {
                r.skipped = true;
                continue;
            }
            if (tasks != null && r.sameHeadAsBefore() && lookNanos - r.prevWalkedNanos < MAX_TAKEOVER_NANOS
                    && tasks.notRunSinceLastLook(r.nativeThreadId)) {
                // Not put on a CPU since the previous look saw it sleeping (TaskStates#lookState): its frames
                // cannot have changed, only the thread itself moves them. Saves the walk and, with many
                // waiting threads (a server's pool), most of a look's reads.
                r.reusePreviousFrames();
                r.walkedNanos = r.prevWalkedNanos;
                r.tookOver = true;
                frames.tookOver(r);
                reusedStacks++;
            } else {
                walk(r);
                if (r.torn) {
                    retry(r, interp);
                }
                r.walked = !r.torn;
                r.walkedNanos = lookNanos;
                // Copies of the look's first call (read ahead, r.specSlot) predate the kernel reading this look may
                // just have taken for the next looks' proofs: a thread woken between the two that moved its frames
                // and slept again has those copies show its old stack, and the new counters would keep that stack
                // for as long as it sleeps (seen on 3.12: 20 s). Such a stack is walked once more, from the next
                // look's copies, before it can be taken over (TaskStates#tookNewReading); threads past the first
                // eight read their frames after the kernel's reading, and keep theirs.
                r.readBeforeReading = r.specSlot >= 0 && tasks != null && tasks.tookNewReading(r.nativeThreadId);
            }
            if (!r.torn && r.tstate != 0 && r.tstate == interpreters.finalizingThread()) {
                // The thread finalising the runtime: its time (module teardown, freeing, GC) would have no
                // frame, or only those of a __del__, and vanish from flame graphs.
                r.push(Frame.INTERPRETER_SHUTDOWN, false);
                r.walked = false;
            }
        }
        dropUnstarted(first);
    }

    /**
     * ≤3.11: the thread that starts a new one makes its thread state (2.7 since 2.7.4 and 3.x ≤3.7
     * {@code _PyThreadState_Prealloc}, 3.8–3.11 {@code new_threadstate}), which copies the creator's
     * {@code thread_id} (and 3.8+ {@code native_thread_id}) until the new thread's bootstrap
     * ({@code t_bootstrap}, 3.10+ {@code thread_run}) sets its own. New thread states go to the head of
     * the list, so such a state has no frame and the same ident as a state after it: it is dropped, or the
     * creator would be seen twice (a second MainThread). 3.12+ leaves the ids 0 instead (see
     * {@link #readThreads}). Only frame-less records are compared, so the usual look costs nothing.
     */
    private void dropUnstarted(int first) {
        for (int i = first; i < records.count(); i++) {
            ThreadRecord r = records.get(i);
            // A frame pointer means a started thread, except on 3.11 (topFrame is tstate->cframe, never 0).
            if (r.torn || r.depth > 0 || (r.topFrame != 0 && !cframeEra)) {
                continue;
            }
            for (int j = i + 1; j < records.count(); j++) {
                ThreadRecord later = records.get(j);
                if (!later.torn && later.pythonThreadId == r.pythonThreadId && later.tstate != r.tstate) {
                    records.remove(i--);
                    break;
                }
            }
        }
    }

    /** The thread's TID in this JVM's PID namespace and its run state, from the kernel. */
    private void observeKernelThread(ThreadRecord r) throws SpyglassException {
        if (tasks == null) {
            return;
        }
        if (r.nativeThreadId < 0) {
            r.nativeThreadId = tidFromPthread(r.pythonThreadId);
        } else if (r.nativeThreadId > 0) {
            // native_thread_id holds the TID in the target's PID namespace; report and read ours.
            r.nativeThreadId = tasks.hostTid(r.nativeThreadId);
        }
        if (r.nativeThreadId > 0) {
            r.state = switch (tasks.lookState(r.nativeThreadId)) {
                case RUNNING -> ThreadState.RUNNING;
                case SLEEPING -> ThreadState.IDLE;
                case UNKNOWN -> ThreadState.UNKNOWN;
            };
            // Read with the state above, once per task: no extra system call.
            r.startTime = tasks.startTime(r.nativeThreadId);
        }
    }

    /** ≤3.10: the TID from glibc's {@code struct pthread}, -1 when unknown. */
    private long tidFromPthread(long pthread) throws SpyglassException {
        if (pthread == 0 || (pthread & 7) != 0) {
            return -1;
        }
        if (!pthreadTids.calibrated()) {
            if (pthreadTids.calibrationDue()) {
                // Every thread of this look so far, and this one: one of them is the main thread.
                int n = 0;
                if (pthreads.length < records.count() + 1) {
                    pthreads = new long[records.count() * 2 + 1];
                }
                for (int i = 0; i < records.count(); i++) {
                    if (records.get(i).pythonThreadId != 0) {
                        pthreads[n++] = records.get(i).pythonThreadId;
                    }
                }
                pthreads[n++] = pthread;
                pthreadTids.calibrate(pthreads, n);
            }
            if (!pthreadTids.calibrated()) {
                // Not calibrated (yet): one Python thread in a process of one thread is that thread.
                return records.count() == 1 ? tasks.onlyTid() : -1;
            }
        }
        return pthreadTids.tid(pthread);
    }

    /**
     * A walk that failed its checks (a running thread moved its frames while they were read, most often a
     * Python function called back from C returning under the reader, 3.11+) is tried once more at once: the
     * thread state is read again for where the frames start now, and the frames are read fresh (the
     * read-ahead's copies date from the look's first call, before the tear). The second walk passes the same
     * checks or stays torn: nothing of the first walk is kept, so no stack is ever pieced together from two
     * instants; and it is kept only when, read again after it, the thread state still points at the same cframe
     * (3.11, 3.12: {@link ThreadStateReader#unchanged}) and the frames read outside the data stack (entry frames
     * on the C stack) still hold the links followed ({@link FrameWalker#unchangedSinceWalk}). One retry per
     * thread per look bounds the cost (about three reads more); a thread whose thread state could not be read
     * (an exiting thread) never gets here.
     */
    private void retry(ThreadRecord r, InterpreterWalker.Interpreter interp) throws SpyglassException {
        r.retried = true;
        r.untear();
        int slot = r.specSlot;
        r.specSlot = -1; // no read-ahead: its copies are older than the torn walk
        try {
            if (!threadStates.reread(r, interp)) {
                return;
            }
            walk(r);
            if (!r.torn && !(threadStates.unchanged(r, interp) && frames.unchangedSinceWalk())) {
                // Stricter than a first read: a thread torn once is racing through C calls, and the checks alone let
                // some stale C-stack frames through (measured: 14 - 17 short stacks in 5 s without this, 0 - 2 before
                // the retry; docs/performance.md).
                r.tear("a C-level call returned while the thread was read again");
                r.depth = 0;
            }
        } finally {
            r.specSlot = slot; // where the next look reads this thread ahead
        }
    }

    private void walk(ThreadRecord r) throws SpyglassException {
        walked.clear();
        try {
            long calls = memory.syscalls();
            if (frames.walk(r, walked) < 0 || r.torn) {
                r.depth = 0;
                return;
            }
            codes.resolve(r, walked, memory.syscalls() == calls);
        } catch (MemoryFault f) {
            r.tear("frame memory unreadable: " + f.getMessage());
        }
        if (r.torn) {
            r.depth = 0;
        }
    }

    /**
     * Resolves frames walked outside a thread's stack (the coroutines of {@code asyncio} tasks) into
     * {@code r}, with the same code-object cache as the stacks; tears {@code r} as a stack would be.
     */
    void resolve(ThreadRecord r, WalkedFrames w) throws SpyglassException {
        codes.resolve(r, w, false);
    }

    @Override
    public void close() {
        if (switches != null) {
            LOG.debug("process {}: {} thread looks from sched_switch records ({} read, {} lost, {} drains of a full"
                    + " ring, {} switch-ins not recorded), {} from /proc schedstat; {} stacks taken over", pid,
                    tasks.switchLooks(), switches.records(), switches.lost(), switches.fullDrains(),
                    tasks.missedSwitchIns(), tasks.schedstatLooks(), reusedStacks);
            switches.close();
            switches = null;
        }
        ahead.close();
        arena.close();
    }
}
