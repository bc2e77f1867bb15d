package dev.spyglass.internal.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * The data area of one mapped perf ring and our read position ({@code tail}) in it: what the three readers of
 * rings ({@link PerfRing}: kernel call chains, {@link UserStackRing}: user-stack snapshots, {@link UprobeSet}:
 * probe hits) share. Reading follows {@code perf_event.h}: load {@code data_head} with acquire semantics
 * ({@link #head}), parse the records between the tail and the head, then store {@code data_tail} with release
 * semantics ({@link #release}) so the kernel may reuse the space.
 *
 * <p>Records are 8-byte aligned and the data size is a power of two, so no 8-byte field straddles the end of the
 * ring: each is read at {@code (position & mask)}, which handles a record that wraps; a longer run of bytes (a
 * stack copy) may wrap, and is copied in two pieces ({@link #copy}).
 */
final class PerfRingData {
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    /** The whole mapping: the {@code struct perf_event_mmap_page}, then the data pages. */
    final MemorySegment map;
    private final long dataOffset;
    final long dataSize;
    private final long mask;
    /** Where the next record to read starts (a position, not an offset: it only grows). */
    long tail;

    PerfRingData(MemorySegment map, long pageSize) {
        this.map = map;
        long off = map.get(ValueLayout.JAVA_LONG, PerfRing.DATA_OFFSET);
        long size = map.get(ValueLayout.JAVA_LONG, PerfRing.DATA_SIZE);
        // Kernels before 4.1 leave data_offset/data_size zero: the data then starts at the second page.
        this.dataOffset = off != 0 ? off : pageSize;
        this.dataSize = size != 0 ? size : map.byteSize() - pageSize;
        this.mask = dataSize - 1;
        this.tail = map.get(ValueLayout.JAVA_LONG, PerfRing.DATA_TAIL);
    }

    /** The 8 bytes at {@code position}. */
    long at(long position) {
        return map.get(ValueLayout.JAVA_LONG, dataOffset + (position & mask));
    }

    /** Where the kernel has written up to ({@code data_head}, acquire: the records before it are complete). */
    long head() {
        return (long) LONG.getAcquire(map, PerfRing.DATA_HEAD);
    }

    /** Gives the space before the tail back to the kernel ({@code data_tail}, release). */
    void release() {
        LONG.setRelease(map, PerfRing.DATA_TAIL, tail);
    }

    /** Copies {@code length} bytes from {@code position} to the start of {@code to}: two pieces when they wrap. */
    void copy(long position, MemorySegment to, long length) {
        long from = position & mask;
        long first = Math.min(length, dataSize - from);
        MemorySegment.copy(map, dataOffset + from, to, 0, first);
        if (first < length) {
            MemorySegment.copy(map, dataOffset, to, first, length - first);
        }
    }
}
