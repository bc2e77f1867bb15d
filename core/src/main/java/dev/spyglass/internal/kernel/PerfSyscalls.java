package dev.spyglass.internal.kernel;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

import dev.spyglass.internal.os.Errno;

/**
 * The system calls behind {@link KernelCallchains} (x86-64 Linux): {@code perf_event_open(2)} through
 * {@code syscall(2)} (glibc has no wrapper), and {@code ioctl}, {@code mmap}, {@code munmap},
 * {@code close}, {@code read}. Each returns the result, or {@code -errno} on failure. One thread at a time.
 */
@SuppressWarnings("restricted")
final class PerfSyscalls implements AutoCloseable {
    static final long SYS_PERF_EVENT_OPEN = 298; // x86-64
    static final int PROT_READ = 1;
    static final int PROT_WRITE = 2;
    static final int MAP_SHARED = 1;
    /** {@code PERF_EVENT_IOC_SET_OUTPUT}: {@code _IO('$', 5)}. */
    static final long IOC_SET_OUTPUT = 0x2405;

    static final int E2BIG = 7;
    static final int EBADF = 9;
    static final int EBUSY = 16;
    static final int ENODEV = 19;
    static final int ENFILE = 23;
    static final int EMFILE = 24;
    static final int EOPNOTSUPP = 95;

    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle SYSCALL5;
    private static final MethodHandle IOCTL;
    private static final MethodHandle MMAP;
    private static final MethodHandle MUNMAP;
    private static final MethodHandle CLOSE;
    private static final MethodHandle READ;

    static {
        Linker linker = Linker.nativeLinker();
        var libc = linker.defaultLookup();
        Linker.Option errno = Linker.Option.captureCallState("errno");
        // long syscall(long number, ...): perf_event_open(attr, pid, cpu, group_fd, flags).
        SYSCALL5 = linker.downcallHandle(libc.find("syscall").orElseThrow(),
                // Every variadic argument is passed as a full register (long) as the kernel reads them.
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG),
                Linker.Option.firstVariadicArg(1), errno);
        // int ioctl(int fd, unsigned long request, ...)
        IOCTL = linker.downcallHandle(libc.find("ioctl").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_LONG),
                Linker.Option.firstVariadicArg(2), errno);
        MMAP = linker.downcallHandle(libc.find("mmap").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG),
                errno);
        MUNMAP = linker.downcallHandle(libc.find("munmap").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG), errno);
        CLOSE = linker.downcallHandle(libc.find("close").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), errno);
        READ = linker.downcallHandle(libc.find("read").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                        ValueLayout.JAVA_LONG), errno);
    }

    private final Arena arena = Arena.ofShared();
    private final MemorySegment capture = arena.allocate(CAPTURE);
    private final MemorySegment value = arena.allocate(ValueLayout.JAVA_LONG);

    private int errno() {
        return (int) ERRNO.get(capture, 0L);
    }

    /** {@code perf_event_open(attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC)}: a descriptor, or {@code -errno}. */
    int perfEventOpen(MemorySegment attr, int tid) {
        return perfEventOpen(attr, tid, -1);
    }

    /**
     * {@code perf_event_open(attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC)}: {@code pid} -1 and a {@code cpu} for an
     * event of every task running on that CPU. A descriptor, or {@code -errno}.
     */
    int perfEventOpen(MemorySegment attr, int pid, int cpu) {
        long r;
        try {
            r = (long) SYSCALL5.invokeExact(capture, SYS_PERF_EVENT_OPEN, attr, (long) pid, (long) cpu, -1L,
                    8L /* PERF_FLAG_FD_CLOEXEC */);
        } catch (Throwable t) {
            throw new IllegalStateException("syscall downcall failed", t);
        }
        return r < 0 ? -errno() : (int) r;
    }

    /**
     * {@code perf_event_open(attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC)}: an event of every task while it runs on
     * {@code cpu} (root or CAP_PERFMON, or {@code perf_event_paranoid} below 1), a descriptor or {@code -errno}.
     */
    int perfEventOpenOnCpu(MemorySegment attr, int cpu) {
        long r;
        try {
            r = (long) SYSCALL5.invokeExact(capture, SYS_PERF_EVENT_OPEN, attr, -1L, (long) cpu, -1L,
                    8L /* PERF_FLAG_FD_CLOEXEC */);
        } catch (Throwable t) {
            throw new IllegalStateException("syscall downcall failed", t);
        }
        return r < 0 ? -errno() : (int) r;
    }

    /** {@code ioctl(fd, request, arg)}: its result, or {@code -errno}. */
    int ioctl(int fd, long request, long arg) {
        int r;
        try {
            r = (int) IOCTL.invokeExact(capture, fd, request, arg);
        } catch (Throwable t) {
            throw new IllegalStateException("ioctl downcall failed", t);
        }
        return r < 0 ? -errno() : r;
    }

    /**
     * Maps {@code length} bytes of {@code fd} shared and read-write (writing {@code data_tail} tells the
     * kernel what was read). The segment, or {@code null} with the errno in {@code errnoOut[0]}.
     */
    MemorySegment mmap(int fd, long length, int[] errnoOut) {
        MemorySegment r;
        try {
            r = (MemorySegment) MMAP.invokeExact(capture, MemorySegment.NULL, length, PROT_READ | PROT_WRITE,
                    MAP_SHARED, fd, 0L);
        } catch (Throwable t) {
            throw new IllegalStateException("mmap downcall failed", t);
        }
        if (r.address() == -1L) { // MAP_FAILED
            errnoOut[0] = errno();
            return null;
        }
        return r.reinterpret(length);
    }

    void munmap(MemorySegment mapping) {
        try {
            int ignored = (int) MUNMAP.invokeExact(capture, mapping, mapping.byteSize());
        } catch (Throwable t) {
            throw new IllegalStateException("munmap downcall failed", t);
        }
    }

    /**
     * The event's count ({@code read(fd)} with {@code read_format} 0: one u64), or -1 when the read fails.
     * For an event of a thread running on another CPU the kernel asks that CPU for the count, so it is
     * exact at the moment of the call.
     */
    long readCount(int fd) {
        long r;
        try {
            r = (long) READ.invokeExact(capture, fd, value, 8L);
        } catch (Throwable t) {
            throw new IllegalStateException("read downcall failed", t);
        }
        return r == 8 ? value.get(ValueLayout.JAVA_LONG, 0) : -1;
    }

    void close(int fd) {
        try {
            int ignored = (int) CLOSE.invokeExact(capture, fd);
        } catch (Throwable t) {
            throw new IllegalStateException("close downcall failed", t);
        }
    }

    /** The symbolic name of {@code errno}, for messages (the perf-specific ones, then {@link Errno}'s). */
    static String errnoName(int errno) {
        return switch (errno) {
            case E2BIG -> "E2BIG";
            case EBADF -> "EBADF";
            case EBUSY -> "EBUSY";
            case ENODEV -> "ENODEV";
            case ENFILE -> "ENFILE";
            case EMFILE -> "EMFILE";
            case EOPNOTSUPP -> "EOPNOTSUPP";
            default -> Errno.name(errno);
        };
    }

    @Override
    public void close() {
        arena.close();
    }
}
