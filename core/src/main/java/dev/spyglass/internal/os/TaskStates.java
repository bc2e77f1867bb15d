package dev.spyglass.internal.os;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * The kernel's view of a process's threads: run state (from {@code /proc/PID/task/TID/stat}, read
 * with {@code pread} through descriptors kept open, so a look costs one system call per thread) and
 * names ({@code comm}). New threads are found by re-listing {@code /proc/PID/task} when an unknown
 * TID is asked for, at most every {@link #RELIST_NANOS}.
 *
 * <p>Every method takes and returns <em>host</em> TIDs (as listed in our {@code /proc}). A process in
 * another PID namespace (a container) records its own, namespaced, ids in memory (CPython's
 * {@code native_thread_id}, glibc's {@code struct pthread}); {@link #hostTid} translates them through
 * the {@code NSpid} line of each thread's {@code status}, whose last entry is the id in the
 * innermost namespace (the target's own view).
 *
 * <p>Not thread-safe.
 */
public final class TaskStates implements AutoCloseable {
    /** Re-list {@code /proc/PID/task} at most this often. */
    public static final long RELIST_NANOS = 50_000_000L;
    /** Re-list at least this often while new threads appear, to forget the ended ones. */
    private static final long FORGET_NANOS = 1_000_000_000L;

    /** Kernel run state of a thread. */
    public enum RunState {
        RUNNING, SLEEPING, UNKNOWN
    }

    private final long pid;
    private final Path taskDir;
    /** The target's PID namespace: its own ids of its threads. */
    private final TaskNamespace ns;
    private final Map<Long, Task> tasks = new HashMap<>();
    /** Look-up without boxing on the hot path; rebuilt when {@link #tasks} changes (rarely). */
    private LongMap<Task> index = new LongMap<>(64);
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(1024);
    private final byte[] bytes = new byte[1024];
    private long lastList;

    public TaskStates(long pid) {
        this.pid = pid;
        this.taskDir = Path.of("/proc", Long.toString(pid), "task");
        this.ns = new TaskNamespace(pid);
    }

    /**
     * The target's PID as the target itself sees it (what it stores in memory, e.g. as the main
     * thread's TID): the PID passed in, unless the target is in another PID namespace.
     */
    public long targetPid() {
        return ns.targetPid;
    }

    /** {@code true} when the target is in a PID namespace below ours, so its own ids differ from ours. */
    public boolean namespaced() {
        return ns.namespaced;
    }

    /**
     * The host TID of the thread the target knows as {@code targetTid}, or -1 when no such thread is
     * listed (re-listing at most every {@link #RELIST_NANOS}). The identity outside namespaces.
     */
    public long hostTid(long targetTid) {
        if (!ns.namespaced) {
            return targetTid;
        }
        if (targetTid <= 0) {
            return -1;
        }
        Task t = ns.byTargetTid(targetTid);
        if (t == null && System.nanoTime() - lastList > RELIST_NANOS) {
            relist();
            t = ns.byTargetTid(targetTid);
        }
        return t == null ? -1 : t.hostTid;
    }

    /** States read by {@link #holdStates}, answered by {@link #state} until {@link #releaseStates}. */
    private final LongMap<RunState> held = new LongMap<>(64);
    private boolean holding;

    /**
     * Reads the run states of {@code tids[0 .. n)} now, and answers {@link #state} for them from this
     * reading until {@link #releaseStates}: native frames stop the threads during a look, and a thread
     * held by ptrace shows state {@code t} (tracing stop), not what it was doing.
     */
    public void holdStates(int[] tids, int n) {
        holding = false;
        held.clear();
        for (int i = 0; i < n; i++) {
            held.put(tids[i], state(tids[i]));
        }
        holding = true;
    }

    /** Ends {@link #holdStates}: states are read afresh again. */
    public void releaseStates() {
        holding = false;
        held.clear();
    }

    /** The run state of thread {@code tid}, {@link RunState#UNKNOWN} when it is not (any more) listed. */
    public RunState state(long tid) {
        if (holding) {
            RunState h = held.get(tid);
            if (h != null) {
                return h;
            }
        }
        Task t = task(tid);
        if (t == null) {
            return RunState.UNKNOWN;
        }
        buffer.clear();
        int n;
        try {
            n = t.stat.read(buffer, 0);
        } catch (IOException e) {
            // ESRCH: the thread ended.
            forget(tid);
            return RunState.UNKNOWN;
        }
        if (n <= 0) {
            forget(tid);
            return RunState.UNKNOWN;
        }
        buffer.flip();
        buffer.get(bytes, 0, n);
        if (t.startTime == 0) {
            // Parsed once per task: a descriptor of /proc/PID/task/TID/stat stays bound to the task it
            // was opened for (a read after that task ended fails with ESRCH, and a new task under the
            // same TID gets a new Task), so its start time never changes.
            t.startTime = StatLine.startTime(bytes, n);
        }
        return StatLine.state(bytes, n);
    }

    /**
     * The run state of thread {@code tid} for one look of the sampler, as {@link #state} but cheaper: from the switch
     * records where they tell ({@link #followSwitches}); else {@code /proc/PID/task/TID/schedstat} (~1.5 µs against
     * {@code stat}'s 7 - 17 µs with 200 threads) first, and when it equals the reading taken just before a {@code stat}
     * that said sleeping, the thread was not put on a CPU since ({@link TaskSchedstat}): still sleeping, and
     * {@link #notRunSinceLastLook} says so; otherwise (or without {@code CONFIG_SCHED_INFO}) {@code stat} is read.
     */
    public RunState lookState(long tid) {
        Task t = task(tid);
        if (t == null) {
            return RunState.UNKNOWN;
        }
        TaskSchedstat c = t.schedstat;
        c.notRunSince = false;
        c.newReading = false;
        if (holding) {
            // Threads held stopped (native frames): the states read before the stop, and no proof.
            t.switches.forgetLook();
            return state(tid);
        }
        RunState fromRecords = switches.look(t);
        if (fromRecords != null) {
            return fromRecords;
        }
        schedstatLooks++;
        c.read(taskDir, tid, buffer, bytes, schedstatValues);
        c.notRunSince = c.unchangedSinceSleeping();
        if (c.notRunSince) {
            return RunState.SLEEPING;
        }
        RunState s = state(tid);
        c.statRead(s);
        return s;
    }

    /**
     * Whether the latest {@link #lookState} of {@code tid} found it not put on a CPU since a previous look
     * that saw it sleeping: its memory (its Python stack) is as that look left it.
     */
    public boolean notRunSinceLastLook(long tid) {
        Task t = index.get(tid);
        return t != null && t.schedstat.notRunSince;
    }

    /**
     * Whether the latest {@link #lookState} of {@code tid} took the {@code schedstat} reading that the next looks'
     * proofs compare with. The proof covers the time from that reading on, so memory of the thread read earlier in
     * the same look (the look's first call, ahead) is not covered: the thread may have run between the two, moved
     * its frames and gone to sleep again before the reading (it then shows the new counters, and the proof would
     * hold the old frames for as long as it sleeps). Frames read that way must be read again at the next look
     * before they are taken over. The switch records' proof runs from the drain at the start of the look (before
     * any read of the target), so it never sets this.
     */
    public boolean tookNewReading(long tid) {
        Task t = index.get(tid);
        return t != null && t.schedstat.newReading;
    }

    /**
     * Whether the switch records prove now that thread {@code tid} has not been put on a CPU since the previous
     * look found it off every CPU, asked before this look's {@link #lookState} (which it does not replace): memory
     * only the thread writes is as that look found it. {@code false} off the switch route and while threads are held.
     */
    public boolean idleSinceLastLook(long tid) {
        Task t = !holding && tid > 0 ? index.get(tid) : null;
        return t != null && switches.provenIdle(t);
    }

    private final long[] schedstatValues = new long[3];
    private final SwitchRoute switches = new SwitchRoute();
    private long schedstatLooks;

    /**
     * From now, {@link #lookState} answers from the switch records given to {@link #switched} (drained before each
     * look) for each thread they tell about, without a {@code /proc} read ({@link TaskSwitches}); threads not seen
     * switching since (or since records were lost) go through {@code schedstat} and {@code stat} as before. Call it
     * once the records are open: records older than this call are ignored ({@link SwitchRoute}).
     */
    public void followSwitches() {
        followSwitches(System.nanoTime());
    }

    /** {@link #followSwitches} with the epoch's start given (CLOCK_MONOTONIC ns; tests). */
    void followSwitches(long start) {
        switches.follow(start);
    }

    /** One switch of the machine, in the order of its CPU: the target's threads among them learn where they are. */
    public void switched(int prevTid, boolean prevSleeping, boolean prevExited, int nextTid, long time) {
        switches.switched(index, prevTid, prevSleeping, prevExited, nextTid, time);
    }

    /** The switch-record knowledge of {@code tid}, for diagnostics (tests). */
    public String describe(long tid) {
        Task t = index.get(tid);
        return t == null ? "task " + tid + " unknown" : switches.describe(t);
    }

    /**
     * The latest drain lost records: nothing learnt from the records so far counts any more. Call it after the
     * drain: records older than this call are ignored ({@link SwitchRoute}).
     */
    public void switchesLost() {
        switchesLost(System.nanoTime());
    }

    /** {@link #switchesLost} at {@code now} (CLOCK_MONOTONIC ns, after the drain; tests). */
    void switchesLost(long now) {
        switches.lost(now);
    }

    /** Thread looks of {@link #lookState} answered from the switch records (the rest: {@link #schedstatLooks}). */
    public long switchLooks() {
        return switches.looks();
    }

    /** Switch-ins the kernel did not record, inferred so far (see {@link TaskSwitches#switchedOut}). */
    public long missedSwitchIns() {
        return switches.missedIns();
    }

    /** Thread looks of {@link #lookState} that read {@code schedstat} (and {@code stat} when it changed). */
    public long schedstatLooks() {
        return schedstatLooks;
    }

    /**
     * When thread {@code tid} started, in clock ticks after boot (field 22, {@code starttime}, of its stat
     * line), or -1 when it is not (any more) listed. With the TID it identifies a thread: the kernel reuses
     * TIDs, never a (TID, start time) pair. Costs nothing after the thread's first {@link #state} (or first
     * call here).
     */
    public long startTime(long tid) {
        Task t = task(tid);
        if (t == null) {
            return -1;
        }
        if (t.startTime == 0 && state(tid) == RunState.UNKNOWN) {
            return -1;
        }
        return t.startTime > 0 ? t.startTime : -1;
    }

    /** The kernel name of thread {@code tid} ({@code comm}, up to 15 bytes), or {@code null}. */
    public String name(long tid) {
        Task t = task(tid);
        if (t == null) {
            return null;
        }
        if (t.name == null) {
            try {
                t.name = Files.readString(taskDir.resolve(Long.toString(tid)).resolve("comm"), StandardCharsets.UTF_8)
                        .strip();
            } catch (IOException | RuntimeException e) {
                return null;
            }
        }
        return t.name;
    }

    /** {@code true} when {@code tid} is one of the process's threads (re-listing if needed). */
    public boolean exists(long tid) {
        return task(tid) != null;
    }

    /** Re-lists the task directory now, and returns the number of threads. */
    public int relist() {
        lastList = System.nanoTime();
        Map<Long, Boolean> seen = new HashMap<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(taskDir)) {
            for (Path p : ds) {
                try {
                    long tid = Long.parseLong(p.getFileName().toString());
                    seen.put(tid, Boolean.TRUE);
                    if (!tasks.containsKey(tid)) {
                        FileChannel stat = FileChannel.open(p.resolve("stat"), StandardOpenOption.READ);
                        tasks.put(tid, new Task(stat, tid, ns.targetTid(p, tid)));
                    }
                } catch (NumberFormatException | IOException e) {
                    // The thread ended between listing and opening.
                }
            }
        } catch (IOException e) {
            // The process ended; forget all.
        }
        for (Iterator<Map.Entry<Long, Task>> it = tasks.entrySet().iterator(); it.hasNext();) {
            Map.Entry<Long, Task> e = it.next();
            if (!seen.containsKey(e.getKey())) {
                e.getValue().close();
                it.remove();
            }
        }
        reindex();
        return tasks.size();
    }

    /** The TID of the process's only thread, or -1 when it has several (as last listed). */
    public long onlyTid() {
        if (System.nanoTime() - lastList > RELIST_NANOS) {
            relist();
        }
        return tasks.size() == 1 ? tasks.keySet().iterator().next() : -1;
    }

    /** Thread ids, the task directory listed again first when the listing is older than {@link #RELIST_NANOS}. */
    public Iterable<Long> recentTids() {
        if (System.nanoTime() - lastList > RELIST_NANOS) {
            relist();
        }
        return tasks.keySet();
    }

    private Task task(long tid) {
        if (tid <= 0) {
            return null;
        }
        Task t = index.get(tid);
        if (t == null) {
            t = open(tid);
        }
        if (t == null && System.nanoTime() - lastList > RELIST_NANOS) {
            relist();
            t = index.get(tid);
        }
        return t;
    }

    /**
     * A thread not listed yet, opened by its TID (no listing of the whole directory): a thread that lives
     * for a few milliseconds is known from its first look, not only after the next re-listing (every
     * {@link #RELIST_NANOS}). Null when {@code tid} is not (or no longer) one of the process's threads.
     */
    private Task open(long tid) {
        Path dir = taskDir.resolve(Long.toString(tid));
        FileChannel stat;
        try {
            stat = FileChannel.open(dir.resolve("stat"), StandardOpenOption.READ);
        } catch (IOException | RuntimeException e) {
            return null;
        }
        Task t = new Task(stat, tid, ns.targetTid(dir, tid));
        tasks.put(tid, t);
        index.put(tid, t);
        ns.add(t);
        if (System.nanoTime() - lastList > FORGET_NANOS) {
            // Threads found this way are not re-listed: close the descriptors of those that ended now and then.
            relist();
        }
        return t;
    }

    private void reindex() {
        LongMap<Task> m = new LongMap<>(Math.max(64, tasks.size() * 2));
        for (Map.Entry<Long, Task> e : tasks.entrySet()) {
            m.put(e.getKey(), e.getValue());
        }
        index = m;
        ns.reindex(tasks.values());
    }

    private void forget(long tid) {
        Task t = tasks.remove(tid);
        if (t != null) {
            t.close();
            reindex();
        }
    }

    public long pid() {
        return pid;
    }

    @Override
    public void close() {
        for (Task t : tasks.values()) {
            t.close();
        }
        tasks.clear();
        index = new LongMap<>(8);
        ns.clear();
    }
}
