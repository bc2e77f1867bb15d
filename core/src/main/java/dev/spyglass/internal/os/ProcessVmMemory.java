package dev.spyglass.internal.os;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.ProcessGoneException;
import dev.spyglass.SpyglassException;

/**
 * Reads another process's memory with {@code process_vm_readv(2)} through an FFM downcall, several
 * ranges per call, into off-heap buffers owned by this reader (nothing is allocated per read). When
 * the system call is unavailable ({@code ENOSYS}) or blocked by a seccomp filter ({@code EPERM} while
 * {@code /proc/PID/mem} is readable), reads go through {@code /proc/PID/mem} instead.
 *
 * <p>Outcomes: a range that is not (fully) mapped gives {@link MemoryFault} (a torn read while the
 * target changes); a process that has exited gives {@link ProcessGoneException}; a refused read gives
 * {@link dev.spyglass.AccessDeniedException} saying what permission is needed.
 *
 * <p>Not thread-safe: one thread reads at a time (the owner synchronises).
 */
@SuppressWarnings("restricted") // native access is the point of this class; callers enable it
public final class ProcessVmMemory implements RemoteMemory {

    private static final Logger LOG = LoggerFactory.getLogger(ProcessVmMemory.class);

    private static final int SCRATCH_BYTES = 256;

    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle PROCESS_VM_READV;

    static {
        Linker linker = Linker.nativeLinker();
        MethodHandle h = null;
        try {
            h = linker.defaultLookup().find("process_vm_readv")
                    .map(addr -> linker.downcallHandle(addr,
                            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                                    ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                                    ValueLayout.JAVA_LONG),
                            Linker.Option.captureCallState("errno"), Linker.Option.critical(false)))
                    .orElse(null);
        } catch (RuntimeException e) {
            LOG.debug("process_vm_readv not available: {}", e.toString());
        }
        PROCESS_VM_READV = h;
    }

    private final long pid;
    private final Arena arena;
    private final MemorySegment localIov;
    private final MemorySegment remoteIov;
    private final MemorySegment capture;
    private final MemorySegment scratch;
    /** Slices of {@link #scratch} made once: a slice per read allocates on the sampling path. */
    private final MemorySegment scratch8;
    private final HeldCopies held = new HeldCopies();
    private final MemorySegment scratch4;
    private int pending;
    private long pendingBytes;
    private FileChannel procMem;
    private volatile boolean closed;
    private long syscalls;

    private ProcessVmMemory(long pid) {
        this.pid = pid;
        this.arena = Arena.ofShared();
        this.localIov = arena.allocate(16L * MAX_IOV, 8);
        this.remoteIov = arena.allocate(16L * MAX_IOV, 8);
        this.capture = arena.allocate(CAPTURE);
        this.scratch = arena.allocate(SCRATCH_BYTES, 16);
        this.scratch8 = scratch.asSlice(0, 8);
        this.scratch4 = scratch.asSlice(0, 4);
    }

    /**
     * Opens a reader for {@code pid} and checks, with one read of {@code probeAddress} (any mapped,
     * readable address of the target), that reading works.
     *
     * @throws ProcessGoneException                 the process does not exist
     * @throws dev.spyglass.AccessDeniedException the kernel refuses the read; the message says why
     */
    public static ProcessVmMemory open(long pid, long probeAddress) throws SpyglassException {
        ProcessVmMemory mem = new ProcessVmMemory(pid);
        try {
            mem.probe(probeAddress);
            return mem;
        } catch (SpyglassException | RuntimeException e) {
            mem.close();
            throw e;
        }
    }

    /** A reader that uses {@code /proc/PID/mem} from the start (tests of the fallback path). */
    static ProcessVmMemory openProcMem(long pid) throws SpyglassException {
        ProcessVmMemory mem = new ProcessVmMemory(pid);
        try {
            mem.switchToProcMem(Errno.ENOSYS);
            return mem;
        } catch (SpyglassException | RuntimeException e) {
            mem.close();
            throw e;
        }
    }

    private void probe(long address) throws SpyglassException {
        if (PROCESS_VM_READV == null) {
            switchToProcMem(Errno.ENOSYS);
            return;
        }
        MemorySegment dst = scratch.asSlice(0, 8);
        long n = callReadv(address, dst);
        if (n >= 0) {
            return;
        }
        int errno = (int) ERRNO.get(capture, 0L);
        switch (Errno.classify(errno)) {
            case NO_SYSCALL -> switchToProcMem(errno);
            case ACCESS_DENIED -> {
                // A container's seccomp profile may block the system call while /proc/PID/mem (same
                // ptrace rules, different path) is allowed.
                try {
                    switchToProcMem(errno);
                    readProcMem(address, dst);
                } catch (MemoryFault f) {
                    LOG.debug("probe via /proc/{}/mem: {}", pid, f.getMessage());
                }
            }
            case UNMAPPED -> {
                // The probe address went away: reading works, the target is changing.
            }
            default -> throw Errno.toException(pid, errno, "reading its memory");
        }
    }

    private void switchToProcMem(int errno) throws SpyglassException {
        Path p = Path.of("/proc", Long.toString(pid), "mem");
        try {
            procMem = FileChannel.open(p, StandardOpenOption.READ);
            LOG.info("process_vm_readv unavailable ({}): reading process {} through {}", Errno.name(errno), pid, p);
        } catch (NoSuchFileException e) {
            throw new ProcessGoneException(pid, "process " + pid + " does not exist (any more)");
        } catch (AccessDeniedException e) {
            throw Errno.toException(pid, Errno.EACCES, "opening " + p + " after process_vm_readv gave " + Errno.name(errno));
        } catch (IOException e) {
            throw Errno.toException(pid, errno, "opening " + p + ": " + e.getMessage());
        }
    }

    /** The target's PID. */
    @Override
    public long pid() {
        return pid;
    }

    /** {@code true} when reads go through {@code /proc/PID/mem}. */
    @Override
    public boolean usesProcMem() {
        return procMem != null;
    }

    /** System calls made so far (for tests and benchmarks). */
    @Override
    public long syscalls() {
        return syscalls;
    }

    /**
     * Reads {@code dst.byteSize()} bytes at {@code address} into {@code dst} (an off-heap segment).
     *
     * @throws MemoryFault when the range is not fully mapped
     */
    @Override
    public void read(long address, MemorySegment dst) throws MemoryFault, SpyglassException {
        long len = dst.byteSize();
        if (len == 0) {
            return;
        }
        int c;
        if (!held.isEmpty() && (c = held.covering(address, len)) >= 0) {
            held.copy(c, address, dst.address(), len);
            return;
        }
        if (procMem != null) {
            readProcMem(address, dst);
            return;
        }
        long n = callReadv(address, dst);
        if (n == len) {
            return;
        }
        if (n >= 0) {
            throw new MemoryFault(address, len, n);
        }
        failed((int) ERRNO.get(capture, 0L), address, len);
    }

    /**
     * Reads as many of the first {@code dst.byteSize()} bytes at {@code address} as are mapped and
     * returns how many (a read that crosses into unmapped memory stops there).
     */
    @Override
    public long readPartial(long address, MemorySegment dst) throws SpyglassException {
        long len = dst.byteSize();
        if (procMem != null) {
            try {
                readProcMem(address, dst);
                return len;
            } catch (MemoryFault f) {
                return f.transferred();
            }
        }
        long n = callReadv(address, dst);
        if (n >= 0) {
            return n;
        }
        try {
            failed((int) ERRNO.get(capture, 0L), address, len);
        } catch (MemoryFault f) {
            return 0;
        }
        return 0;
    }

    /** Reads a 64-bit little-endian word. */
    @Override
    public long readLong(long address) throws MemoryFault, SpyglassException {
        read(address, scratch8);
        return scratch8.get(ValueLayout.JAVA_LONG_UNALIGNED, 0);
    }

    /** Reads a 32-bit little-endian word. */
    @Override
    public int readInt(long address) throws MemoryFault, SpyglassException {
        read(address, scratch4);
        return scratch4.get(ValueLayout.JAVA_INT_UNALIGNED, 0);
    }

    /**
     * Queues a range for the next {@link #flush()}: the bytes at {@code address} go to {@code dst}.
     * Ranges queued together are read in one system call.
     *
     * @return the index of this range in the batch
     */
    @Override
    public int add(long address, MemorySegment dst) {
        return add(address, dst, 0, dst.byteSize());
    }

    /**
     * Queues {@code length} bytes at {@code address} into {@code buffer} (off-heap) at {@code offset}:
     * like {@link #add(long, MemorySegment)} without making a slice.
     */
    @Override
    public int add(long address, MemorySegment buffer, long offset, long length) {
        if (pending == MAX_IOV) {
            throw new IllegalStateException("more than " + MAX_IOV + " ranges in one batch");
        }
        java.util.Objects.checkFromIndexSize(offset, length, buffer.byteSize());
        long o = 16L * pending;
        localIov.set(ValueLayout.JAVA_LONG, o, buffer.address() + offset);
        localIov.set(ValueLayout.JAVA_LONG, o + 8, length);
        remoteIov.set(ValueLayout.JAVA_LONG, o, address);
        remoteIov.set(ValueLayout.JAVA_LONG, o + 8, length);
        pendingBytes += length;
        return pending++;
    }

    /** Ranges queued and not yet flushed. */
    @Override
    public int pending() {
        return pending;
    }

    /**
     * Reads every queued range and returns how many of them, counted from the first, were read
     * completely. The kernel stops at the first range that is not mapped; later ranges are not read.
     */
    @Override
    public int flush() throws SpyglassException {
        int count = pending;
        long total = pendingBytes;
        pending = 0;
        pendingBytes = 0;
        if (count == 0) {
            return 0;
        }
        if (!held.isEmpty() && held.serve(localIov, remoteIov, count)) {
            return count;
        }
        if (procMem != null) {
            for (int i = 0; i < count; i++) {
                long o = 16L * i;
                long len = localIov.get(ValueLayout.JAVA_LONG, o + 8);
                MemorySegment dst = MemorySegment.ofAddress(localIov.get(ValueLayout.JAVA_LONG, o)).reinterpret(len);
                try {
                    readProcMem(remoteIov.get(ValueLayout.JAVA_LONG, o), dst);
                } catch (MemoryFault f) {
                    return i;
                }
            }
            return count;
        }
        long n = invoke(count);
        if (n == total) {
            return count;
        }
        if (n < 0) {
            int errno = (int) ERRNO.get(capture, 0L);
            if (Errno.classify(errno) == Errno.Meaning.UNMAPPED) {
                return 0;
            }
            throw Errno.toException(pid, errno, "reading its memory");
        }
        int done = 0;
        for (int i = 0; i < count; i++) {
            long len = localIov.get(ValueLayout.JAVA_LONG, 16L * i + 8);
            if (n < len) {
                break;
            }
            n -= len;
            done++;
        }
        return done;
    }

    @Override
    public void addHeldCopy(long address, MemorySegment copy) {
        held.add(address, copy);
    }

    @Override
    public void clearHeldCopies() {
        held.clear();
    }

    /** Drops queued ranges without reading them. */
    @Override
    public void clear() {
        pending = 0;
        pendingBytes = 0;
    }

    private long callReadv(long address, MemorySegment dst) {
        localIov.set(ValueLayout.JAVA_LONG, 0, dst.address());
        localIov.set(ValueLayout.JAVA_LONG, 8, dst.byteSize());
        remoteIov.set(ValueLayout.JAVA_LONG, 0, address);
        remoteIov.set(ValueLayout.JAVA_LONG, 8, dst.byteSize());
        return invoke(1);
    }

    private long invoke(int count) {
        if (closed) {
            throw new IllegalStateException("remote memory reader of process " + pid + " is closed");
        }
        syscalls++;
        try {
            return (long) PROCESS_VM_READV.invokeExact(capture, (int) pid, localIov, (long) count, remoteIov,
                    (long) count, 0L);
        } catch (Throwable t) {
            throw new IllegalStateException("process_vm_readv downcall failed", t);
        }
    }

    private void failed(int errno, long address, long len) throws MemoryFault, SpyglassException {
        if (Errno.classify(errno) == Errno.Meaning.UNMAPPED) {
            throw new MemoryFault(address, len, 0);
        }
        throw Errno.toException(pid, errno, "reading " + len + " bytes at 0x" + Long.toHexString(address));
    }

    private void readProcMem(long address, MemorySegment dst) throws MemoryFault, SpyglassException {
        syscalls++;
        ByteBuffer bb = dst.asByteBuffer();
        long len = dst.byteSize();
        try {
            while (bb.hasRemaining()) {
                // Addresses above 2^63 are kernel space: never mapped for the target.
                if (address + bb.position() < 0) {
                    throw new MemoryFault(address, len, bb.position());
                }
                int n = procMem.read(bb, address + bb.position());
                if (n <= 0) {
                    if (!Path.of("/proc", Long.toString(pid)).toFile().exists()) {
                        throw new ProcessGoneException(pid, "process " + pid + " exited");
                    }
                    throw new MemoryFault(address, len, bb.position());
                }
            }
        } catch (IOException e) {
            // EIO: the range is not mapped.
            if (!Path.of("/proc", Long.toString(pid)).toFile().exists()) {
                throw new ProcessGoneException(pid, "process " + pid + " exited");
            }
            throw new MemoryFault(address, len, bb.position());
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (procMem != null) {
            try {
                procMem.close();
            } catch (IOException e) {
                LOG.debug("closing /proc/{}/mem: {}", pid, e.toString());
            }
        }
        arena.close();
    }
}
