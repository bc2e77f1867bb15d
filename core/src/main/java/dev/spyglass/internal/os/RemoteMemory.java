package dev.spyglass.internal.os;

import java.lang.foreign.MemorySegment;

import dev.spyglass.SpyglassException;

/**
 * The target's memory as the readers see it: single reads, and batches of ranges read together
 * ({@link #add} then {@link #flush}). {@link ProcessVmMemory} reads a live process; tests replay
 * memory images captured from real interpreters through the same interface, so the stack walkers
 * can be tested without a process.
 *
 * <p>Outcomes: a range that is not (fully) mapped gives {@link MemoryFault} (a torn read while the
 * target changes); a process that has exited gives {@link dev.spyglass.ProcessGoneException}.
 * Not thread-safe.
 */
public interface RemoteMemory extends AutoCloseable {

    /** Most ranges in one batch; the kernel's limit (UIO_MAXIOV) is 1024. */
    int MAX_IOV = 512;

    /**
     * Opens a reader of a live process and checks, with one read of {@code probeAddress}, that
     * reading works; see {@link ProcessVmMemory#open}.
     */
    static RemoteMemory open(long pid, long probeAddress) throws SpyglassException {
        return ProcessVmMemory.open(pid, probeAddress);
    }

    /** The target's PID. */
    long pid();

    /** {@code true} when reads go through {@code /proc/PID/mem}. */
    boolean usesProcMem();

    /** Reads (system calls, or replayed reads) made so far, for tests and benchmarks. */
    long syscalls();

    /**
     * Reads {@code dst.byteSize()} bytes at {@code address} into {@code dst} (an off-heap segment).
     *
     * @throws MemoryFault when the range is not fully mapped
     */
    void read(long address, MemorySegment dst) throws MemoryFault, SpyglassException;

    /**
     * Reads as many of the first {@code dst.byteSize()} bytes at {@code address} as are mapped and
     * returns how many (a read that crosses into unmapped memory stops there).
     */
    long readPartial(long address, MemorySegment dst) throws SpyglassException;

    /** Reads a 64-bit little-endian word. */
    long readLong(long address) throws MemoryFault, SpyglassException;

    /** Reads a 32-bit little-endian word. */
    int readInt(long address) throws MemoryFault, SpyglassException;

    /**
     * Queues a range for the next {@link #flush()}: the bytes at {@code address} go to {@code dst}.
     *
     * @return the index of this range in the batch
     */
    int add(long address, MemorySegment dst);

    /** Queues {@code length} bytes at {@code address} into {@code buffer} at {@code offset}. */
    int add(long address, MemorySegment buffer, long offset, long length);

    /** Ranges queued and not yet flushed. */
    int pending();

    /**
     * Reads every queued range and returns how many of them, counted from the first, were read
     * completely. Reading stops at the first range that is not mapped; later ranges are not read.
     */
    int flush() throws SpyglassException;

    /** Drops queued ranges without reading them. */
    void clear();

    /**
     * Lets {@code copy}, the bytes at {@code address} copied while the thread owning them was held stopped,
     * serve the reads (single, or whole batches) it covers until {@link #clearHeldCopies}, without a system
     * call: they then return that instant's bytes (native frames: a look stays of the held instant after the
     * threads are let go). The copy is used, not copied: it must stay unchanged until cleared. Readers of
     * replayed memory ignore it.
     */
    default void addHeldCopy(long address, MemorySegment copy) {
    }

    /** Forgets the copies given to {@link #addHeldCopy}. */
    default void clearHeldCopies() {
    }

    @Override
    void close();
}
