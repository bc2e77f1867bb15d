package dev.spyglass.internal.kernel;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

import dev.spyglass.Frame;
import dev.spyglass.internal.os.LongMap;

/**
 * The kernel stacks of a process's threads that are not running, as the kernel symbolises them in
 * {@code /proc/PID/task/TID/stack}: one line per frame, innermost first,
 * {@code [<0>] anon_pipe_read+0x393/0x440} (a module's symbol ends in {@code [module]}).
 *
 * <p>The kernel (6.x) gives this file only to {@code CAP_SYS_ADMIN} (mode 0400 and a capability check on
 * read), and an empty one for a thread that is running: its stack is changing under the unwinder. So
 * it answers for blocked threads (a {@code read} on a pipe, a sleep, a futex), 7 µs per thread here
 * with the descriptor kept open and read with {@code pread}. Used from the sampling thread only.
 */
final class TaskKernelStacks implements AutoCloseable {
    /** The kernel writes at most 64 frames (MAX_STACK_TRACE_DEPTH), each line under 100 bytes. */
    private static final int BUFFER_BYTES = 8192;
    /** Descriptors unused this long are closed: their thread ended or stopped being sampled. */
    private static final long FORGET_NANOS = 2_000_000_000L;

    private final long pid;
    private final KernelFrameNames names;
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER_BYTES);
    private final byte[] bytes = new byte[BUFFER_BYTES];
    private LongMap<Task> byTid = new LongMap<>(64);
    private final List<Task> tasks = new ArrayList<>();
    private long lastPurge = System.nanoTime();

    private static final class Task {
        final long tid;
        final FileChannel stack;
        long lastUse;

        Task(long tid, FileChannel stack) {
            this.tid = tid;
            this.stack = stack;
        }
    }

    TaskKernelStacks(long pid, KernelFrameNames names) {
        this.pid = pid;
        this.names = names;
    }

    /**
     * Whether this process may read kernel stacks: the file of its own main thread, read once. The
     * kernel checks {@code CAP_SYS_ADMIN} on read, not on open.
     *
     * @return null when allowed, else why not
     */
    static String refusal() {
        Path own = Path.of("/proc", Long.toString(ProcessHandle.current().pid()), "task",
                Long.toString(ProcessHandle.current().pid()), "stack");
        try (FileChannel c = FileChannel.open(own, StandardOpenOption.READ)) {
            c.read(ByteBuffer.allocate(BUFFER_BYTES), 0);
            return null;
        } catch (AccessDeniedException e) {
            return "the kernel stacks of blocked threads (/proc/PID/task/TID/stack) are readable with CAP_SYS_ADMIN only "
                    + "(run as root)";
        } catch (NoSuchFileException e) {
            return "this kernel has no /proc/PID/task/TID/stack (built without CONFIG_STACKTRACE)";
        } catch (IOException e) {
            String m = String.valueOf(e.getMessage());
            return m.contains("Operation not permitted") || m.contains("Permission denied")
                    ? "the kernel stacks of blocked threads (/proc/PID/task/TID/stack) are readable with CAP_SYS_ADMIN "
                            + "only (run as root)"
                    : "/proc/PID/task/TID/stack could not be read: " + m;
        }
    }

    /**
     * Adds the kernel frames of thread {@code tid} (a host TID of this process), innermost first, to
     * {@code out}.
     *
     * @return how many were added: 0 when the thread is running, has ended, or its stack is unreadable
     */
    int read(long tid, List<Frame> out) {
        long now = System.nanoTime();
        if (now - lastPurge > FORGET_NANOS) {
            purge(now);
        }
        Task t = byTid.get(tid);
        if (t == null) {
            t = open(tid);
            if (t == null) {
                return 0;
            }
        }
        t.lastUse = now;
        buffer.clear();
        int n;
        try {
            n = t.stack.read(buffer, 0);
        } catch (IOException e) {
            return 0; // ESRCH: the thread ended; its descriptor goes at the next purge
        }
        if (n <= 0) {
            return 0;
        }
        buffer.flip();
        buffer.get(bytes, 0, n);
        return parse(bytes, n, out);
    }

    /** Adds the frames of a {@code /proc/PID/task/TID/stack} text to {@code out}; returns how many. */
    int parse(byte[] text, int length, List<Frame> out) {
        int added = 0;
        int i = 0;
        while (i < length) {
            int end = i;
            while (end < length && text[end] != '\n') {
                end++;
            }
            // "[<0>] " then the symbol up to '+' (or a blank or the line's end when there is no offset).
            int start = i;
            while (start < end && text[start] != ']') {
                start++;
            }
            start += 2;
            int stop = start;
            while (stop < end && text[stop] != '+' && text[stop] != ' ') {
                stop++;
            }
            if (start < stop && stop <= end) {
                out.add(names.frame(text, start, stop - start));
                added++;
            }
            i = end + 1;
        }
        return added;
    }

    private Task open(long tid) {
        Path path = Path.of("/proc", Long.toString(pid), "task", Long.toString(tid), "stack");
        FileChannel c;
        try {
            c = FileChannel.open(path, StandardOpenOption.READ);
        } catch (IOException | SecurityException e) {
            return null; // the thread ended, or no right to read (checked once at attach)
        }
        Task t = new Task(tid, c);
        tasks.add(t);
        byTid.put(tid, t);
        return t;
    }

    /** Closes the descriptors of threads not read for a while; LongMap has no removal, so it is rebuilt. */
    private void purge(long now) {
        lastPurge = now;
        boolean removed = tasks.removeIf(t -> {
            if (now - t.lastUse > FORGET_NANOS) {
                closeQuietly(t.stack);
                return true;
            }
            return false;
        });
        if (removed) {
            LongMap<Task> index = new LongMap<>(64);
            for (Task t : tasks) {
                index.put(t.tid, t);
            }
            byTid = index;
        }
    }

    /** Open descriptors, for tests. */
    int openCount() {
        return tasks.size();
    }

    @Override
    public void close() {
        for (Task t : tasks) {
            closeQuietly(t.stack);
        }
        tasks.clear();
        byTid = new LongMap<>(64);
    }

    private static void closeQuietly(FileChannel c) {
        try {
            c.close();
        } catch (IOException e) {
            // nothing to do: a descriptor of /proc that fails to close is gone anyway
        }
    }
}
