package dev.spyglass.internal.os;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

import dev.spyglass.SpyglassException;

/**
 * The few {@code ptrace(2)} requests a brief stop needs (x86-64 Linux): {@code PTRACE_SEIZE} (attach
 * without stopping), {@code PTRACE_INTERRUPT} (stop now), {@code PTRACE_GETREGS}, {@code PTRACE_CONT} and
 * {@code PTRACE_DETACH}, plus {@code waitpid(2)} with {@code __WALL} for the stop. The kernel binds a
 * tracee to the thread that seized it: every call for one tracee must come from the same platform
 * thread (the caller guarantees it).
 *
 * <p>Waiting never blocks: {@link #awaitStop} polls with {@code WNOHANG} up to a deadline, so a
 * thread that does not stop (it exited, or another tracer interferes) cannot hang the caller.
 */
@SuppressWarnings("restricted")
public final class Ptrace implements AutoCloseable {
    static final int PTRACE_CONT = 7;
    static final int PTRACE_GETREGS = 12;
    static final int PTRACE_DETACH = 17;
    static final int PTRACE_SEIZE = 0x4206;
    static final int PTRACE_INTERRUPT = 0x4207;
    static final int WNOHANG = 1;
    static final int WALL = 0x40000000;
    /** {@code struct user_regs_struct} on x86-64: 27 registers of 8 bytes. */
    public static final int REGS_BYTES = 27 * 8;
    // Offsets in user_regs_struct (sys/user.h, x86-64).
    public static final int RBP = 4 * 8;
    public static final int RIP = 16 * 8;
    public static final int RSP = 19 * 8;

    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle PTRACE;
    private static final MethodHandle WAITPID;

    static {
        Linker linker = Linker.nativeLinker();
        // long ptrace(enum __ptrace_request request, ...): glibc declares it variadic after the request.
        PTRACE = linker.downcallHandle(linker.defaultLookup().find("ptrace").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG),
                Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));
        WAITPID = linker.downcallHandle(linker.defaultLookup().find("waitpid").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                        ValueLayout.JAVA_INT),
                Linker.Option.captureCallState("errno"));
    }

    // Shared: a source may be closed from another thread than the one that traced.
    private final Arena arena = Arena.ofShared();
    private final MemorySegment capture = arena.allocate(CAPTURE);
    private final MemorySegment status = arena.allocate(ValueLayout.JAVA_INT);

    /** A failed request: its errno, for the caller to explain (EPERM: permission; ESRCH: gone). */
    public static final class PtraceException extends SpyglassException {
        private static final long serialVersionUID = 1L;
        private final int errno;

        PtraceException(String message, int errno) {
            super(message);
            this.errno = errno;
        }

        public int errno() {
            return errno;
        }
    }

    private long call(int request, int tid, long addr, long data, String what) throws PtraceException {
        long r;
        try {
            r = (long) PTRACE.invokeExact(capture, request, tid, addr, data);
        } catch (Throwable t) {
            throw new IllegalStateException("ptrace downcall failed", t);
        }
        if (r == -1) {
            int errno = (int) ERRNO.get(capture, 0L);
            throw new PtraceException(what + " of thread " + tid + " failed: " + Errno.name(errno), errno);
        }
        return r;
    }

    /** Attaches to thread {@code tid} without stopping it. */
    public void seize(int tid) throws PtraceException {
        call(PTRACE_SEIZE, tid, 0, 0, "PTRACE_SEIZE");
    }

    /** Asks a seized thread to stop; {@link #awaitStop} waits for it. */
    public void interrupt(int tid) throws PtraceException {
        call(PTRACE_INTERRUPT, tid, 0, 0, "PTRACE_INTERRUPT");
    }

    /** {@link #awaitStop}: the thread exited (or is not ours to wait for). */
    public static final int EXITED = -1;
    /** {@link #awaitStop}: no stop came in time; the thread is still seized and will stop. */
    public static final int NOT_YET = -2;

    /**
     * Waits until {@code tid} reports a stop, up to {@code timeoutNanos} (0: look once). Spins for the
     * first 200 µs (a running thread stops within microseconds), then sleeps 50 µs between looks.
     *
     * @return the signal to pass on when continuing (0 for the interrupt's own stop, else a signal that
     *         arrived meanwhile and must not be lost), {@link #EXITED}, or {@link #NOT_YET}
     */
    public int awaitStop(int tid, long timeoutNanos) {
        long start = System.nanoTime();
        while (true) {
            int r;
            try {
                r = (int) WAITPID.invokeExact(capture, tid, status, WNOHANG | WALL);
            } catch (Throwable t) {
                throw new IllegalStateException("waitpid downcall failed", t);
            }
            if (r == tid) {
                int s = status.get(ValueLayout.JAVA_INT, 0);
                if ((s & 0xff) != 0x7f) {
                    return EXITED; // exited or killed: not a stop
                }
                int sig = (s >> 8) & 0xff;
                int event = (s >> 16) & 0xff;
                // PTRACE_EVENT_STOP (128) after PTRACE_INTERRUPT reports SIGTRAP (or the group-stop signal).
                return event != 0 || sig == 5 ? 0 : sig;
            }
            if (r < 0) {
                return EXITED;
            }
            // The deadline is checked after a look: the first call of a downcall may itself take long.
            long waited = System.nanoTime() - start;
            if (waited >= timeoutNanos) {
                return NOT_YET;
            }
            if (waited < 200_000) {
                Thread.onSpinWait();
            } else {
                java.util.concurrent.locks.LockSupport.parkNanos(50_000);
            }
        }
    }

    /** Reads the stopped thread's registers into {@code regs} ({@link #REGS_BYTES} bytes). */
    public void getRegs(int tid, MemorySegment regs) throws PtraceException {
        call(PTRACE_GETREGS, tid, 0, regs.address(), "PTRACE_GETREGS");
    }

    /** Resumes a stopped thread, delivering {@code signal} (0 for none). */
    public void cont(int tid, int signal) throws PtraceException {
        call(PTRACE_CONT, tid, 0, signal, "PTRACE_CONT");
    }

    /** Detaches; a stopped thread resumes. Errors are ignored: the thread may have exited. */
    public void detach(int tid) {
        detach(tid, 0);
    }

    /**
     * Detaches, delivering {@code signal} (0 for none): a stopped thread resumes, or goes back into the
     * group stop it was in (a {@code SIGSTOP} to the process is kept). The kernel drops a pending
     * {@code PTRACE_INTERRUPT} with the tracing link. Errors are ignored: the thread may have exited.
     *
     * @return false when the request failed (the thread exited, or was not traced by this thread)
     */
    public boolean detach(int tid, int signal) {
        try {
            call(PTRACE_DETACH, tid, 0, signal, "PTRACE_DETACH");
            return true;
        } catch (PtraceException ignored) {
            return false;
        }
    }

    /**
     * The process tracing {@code tid} ({@code TracerPid} of {@code /proc/PID/task/TID/status}), or 0 when
     * none or unknown: to name the debugger when a seize is refused.
     */
    public static long tracerOf(long pid, int tid) {
        try {
            for (String line : java.nio.file.Files.readAllLines(
                    java.nio.file.Path.of("/proc", Long.toString(pid), "task", Integer.toString(tid), "status"))) {
                if (line.startsWith("TracerPid:")) {
                    return Long.parseLong(line.substring(10).trim());
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            // gone or unreadable: unknown
        }
        return 0;
    }

    @Override
    public void close() {
        arena.close();
    }
}
