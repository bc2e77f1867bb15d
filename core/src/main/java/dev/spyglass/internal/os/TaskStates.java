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
 * <p>Not thread-safe.
 */
public final class TaskStates implements AutoCloseable {
    /** Re-list {@code /proc/PID/task} at most this often. */
    public static final long RELIST_NANOS = 50_000_000L;

    /** Kernel run state of a thread. */
    public enum RunState {
        RUNNING, SLEEPING, UNKNOWN
    }

    private final long pid;
    private final Path taskDir;
    private final Map<Long, Task> tasks = new HashMap<>();
    /** Look-up without boxing on the hot path; rebuilt when {@link #tasks} changes (rarely). */
    private LongMap<Task> index = new LongMap<>(64);
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(1024);
    private final byte[] bytes = new byte[1024];
    private long lastList;

    private static final class Task {
        final FileChannel stat;
        String name;

        Task(FileChannel stat) {
            this.stat = stat;
        }
    }

    public TaskStates(long pid) {
        this.pid = pid;
        this.taskDir = Path.of("/proc", Long.toString(pid), "task");
    }

    /** The run state of thread {@code tid}, {@link RunState#UNKNOWN} when it is not (any more) listed. */
    public RunState state(long tid) {
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
        return parseState(bytes, n);
    }

    /** The state letter after the last {@code ')'} of a stat line ({@code comm} may hold parentheses). */
    static RunState parseState(byte[] stat, int length) {
        for (int i = length - 1; i >= 0; i--) {
            if (stat[i] == ')') {
                if (i + 2 < length) {
                    byte c = stat[i + 2];
                    return c == 'R' ? RunState.RUNNING : RunState.SLEEPING;
                }
                return RunState.UNKNOWN;
            }
        }
        return RunState.UNKNOWN;
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

    /** Forget a cached name (threads may rename themselves). */
    public void refreshNames() {
        for (Task t : tasks.values()) {
            t.name = null;
        }
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
                        tasks.put(tid, new Task(FileChannel.open(p.resolve("stat"), StandardOpenOption.READ)));
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
                closeQuietly(e.getValue());
                it.remove();
            }
        }
        reindex();
        return tasks.size();
    }

    /** Thread ids currently known. */
    public Iterable<Long> tids() {
        return tasks.keySet();
    }

    private Task task(long tid) {
        if (tid <= 0) {
            return null;
        }
        Task t = index.get(tid);
        if (t == null && System.nanoTime() - lastList > RELIST_NANOS) {
            relist();
            t = index.get(tid);
        }
        return t;
    }

    private void reindex() {
        LongMap<Task> m = new LongMap<>(Math.max(64, tasks.size() * 2));
        for (Map.Entry<Long, Task> e : tasks.entrySet()) {
            m.put(e.getKey(), e.getValue());
        }
        index = m;
    }

    private void forget(long tid) {
        Task t = tasks.remove(tid);
        if (t != null) {
            closeQuietly(t);
            reindex();
        }
    }

    private static void closeQuietly(Task t) {
        try {
            t.stat.close();
        } catch (IOException e) {
            // nothing to do
        }
    }

    public long pid() {
        return pid;
    }

    @Override
    public void close() {
        for (Task t : tasks.values()) {
            closeQuietly(t);
        }
        tasks.clear();
        index = new LongMap<>(8);
    }
}
