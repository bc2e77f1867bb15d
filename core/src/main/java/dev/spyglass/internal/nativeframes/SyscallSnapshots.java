package dev.spyglass.internal.nativeframes;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;

import dev.spyglass.SpyglassException;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * A blocked thread's user stack without stopping it: {@code /proc/PID/task/TID/syscall} gives, for a
 * thread that is not running, the user stack pointer and the instruction it returns to
 * ({@code "NR ARG1 .. ARG6 SP PC"} inside a system call, {@code "-1 SP PC"} blocked outside one,
 * {@code "running"} on a CPU; fs/proc/base.c, Linux 2.6.27+), and one {@code process_vm_readv} copies its
 * stack from there up. The kernel answers only for a task that stays off its CPU while it looks
 * ({@code task_current_syscall} waits for it to be inactive); it never stops or traces the thread. The
 * file needs the right to ptrace-read the process, as {@code process_vm_readv} does.
 *
 * <p>Why: the no-stop engine's snapshots come from perf records, taken on a CPU clock tick or when a
 * thread leaves its CPU, so a thread blocked since before the session (a reader waiting on a pipe, a
 * worker waiting on a lock) has none. The caller proves the copy is of the read's instant by the thread's
 * CPU time, unchanged from before the Python read to after this copy. No {@code rbp} is known: a frame
 * whose call-frame rule needs it ends the walk (the outer Python frames are then appended, "partial").
 * Used from the sampling thread only.
 */
final class SyscallSnapshots implements AutoCloseable {
    /** Descriptors kept open at most (a process with more blocked threads reopens some per tick). */
    private static final int MAX_OPEN = 4096;

    private final long pid;
    private final RemoteMemory memory;
    private final Arena arena = Arena.ofShared(); // made on the attaching thread, used on the sampling thread
    private final MemorySegment stack;
    private final ByteBuffer text = ByteBuffer.allocateDirect(256);
    private final byte[] bytes = new byte[256];
    private final Map<Integer, FileChannel> files = new HashMap<>();
    private long rsp;
    private long rip;
    private long copied;

    SyscallSnapshots(long pid, RemoteMemory memory, int stackBytes) {
        this.pid = pid;
        this.memory = memory;
        this.stack = arena.allocate(stackBytes, 16);
    }

    /**
     * Reads thread {@code tid}'s stack pointer and instruction pointer and copies its stack.
     *
     * @return {@code false} when the thread is running, has ended, or could not be read
     */
    boolean take(int tid) {
        FileChannel f = files.get(tid);
        try {
            if (f == null) {
                if (files.size() >= MAX_OPEN) {
                    closeAll();
                }
                f = FileChannel.open(Path.of("/proc", Long.toString(pid), "task", Integer.toString(tid), "syscall"),
                        StandardOpenOption.READ);
                files.put(tid, f);
            }
            text.clear();
            int n = f.read(text, 0);
            if (n <= 0 || !parse(n)) {
                return false;
            }
            copied = memory.readPartial(rsp, stack);
            return copied > 0;
        } catch (IOException | SecurityException | SpyglassException e) {
            forget(tid); // ESRCH: the thread ended; a refusal is the same for every thread
            return false;
        }
    }

    /** Parses the text in {@link #text}: the last two fields are SP and PC, in hexadecimal. */
    private boolean parse(int n) {
        text.flip();
        text.get(bytes, 0, n);
        if (bytes[0] == 'r') {
            return false; // "running"
        }
        int end = n;
        while (end > 0 && (bytes[end - 1] == '\n' || bytes[end - 1] == ' ')) {
            end--;
        }
        int pcStart = fieldStart(end);
        int spEnd = pcStart - 1;
        int spStart = spEnd > 0 ? fieldStart(spEnd) : -1;
        if (spStart <= 0) {
            return false; // fewer than three fields: not a text this class knows
        }
        rip = hex(pcStart, end);
        rsp = hex(spStart, spEnd);
        return rip > 0 && rsp > 0 && (rsp & 7) == 0;
    }

    private int fieldStart(int end) {
        int i = end;
        while (i > 0 && bytes[i - 1] != ' ') {
            i--;
        }
        return i;
    }

    /** A {@code 0x}-prefixed hexadecimal field, or -1. */
    private long hex(int start, int end) {
        if (end - start < 3 || end - start > 18 || bytes[start] != '0' || bytes[start + 1] != 'x') {
            return -1;
        }
        long v = 0;
        for (int i = start + 2; i < end; i++) {
            int d = Character.digit(bytes[i], 16);
            if (d < 0) {
                return -1;
            }
            v = (v << 4) | d;
        }
        return v;
    }

    long rip() {
        return rip;
    }

    long rsp() {
        return rsp;
    }

    /** The bytes copied from {@link #rsp()} up (fewer than asked where the stack ends). */
    MemorySegment stack() {
        return stack.asSlice(0, copied);
    }

    /** Closes thread {@code tid}'s descriptor (it ended, or its TID names a new thread). */
    void forget(int tid) {
        FileChannel f = files.remove(tid);
        if (f != null) {
            closeQuietly(f);
        }
    }

    private void closeAll() {
        files.values().forEach(SyscallSnapshots::closeQuietly);
        files.clear();
    }

    @Override
    public void close() {
        closeAll();
        arena.close();
    }

    private static void closeQuietly(FileChannel c) {
        try {
            c.close();
        } catch (IOException e) {
            // a /proc descriptor that fails to close is gone anyway
        }
    }
}
