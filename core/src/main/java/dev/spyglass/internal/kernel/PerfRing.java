package dev.spyglass.internal.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * One thread's perf ring buffer: the mmap'd {@code struct perf_event_mmap_page} (one page) followed by
 * 2^n data pages the kernel writes records into. Reading follows {@code perf_event.h}: load
 * {@code data_head} with acquire semantics, parse the records between our tail and the head, then store
 * {@code data_tail} with release semantics so the kernel may reuse the space.
 *
 * <p>Records are 8-byte aligned and the data size is a power of two, so no 8-byte field straddles the
 * end of the ring: each is read at {@code (position & mask)}, which handles a record that wraps.
 */
final class PerfRing {
    /** Offsets in {@code struct perf_event_mmap_page} (checked against linux/perf_event.h, 6.18). */
    static final long DATA_HEAD = 1024;
    static final long DATA_TAIL = 1032;
    static final long DATA_OFFSET = 1040;
    static final long DATA_SIZE = 1048;

    static final int PERF_RECORD_LOST = 2;
    static final int PERF_RECORD_SAMPLE = 9;
    /** Callchain entries at or above this (unsigned) are context markers ({@code PERF_CONTEXT_MAX}). */
    static final long PERF_CONTEXT_MAX = -4095L;

    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    final int fd;
    final MemorySegment map;
    private final long dataOffset;
    private final long mask;
    private long tail;

    PerfRing(int fd, MemorySegment map, long pageSize) {
        this.fd = fd;
        this.map = map;
        long off = map.get(ValueLayout.JAVA_LONG, DATA_OFFSET);
        long size = map.get(ValueLayout.JAVA_LONG, DATA_SIZE);
        // Kernels before 4.1 leave data_offset/data_size zero: the data then starts at the second page.
        this.dataOffset = off != 0 ? off : pageSize;
        this.mask = (size != 0 ? size : map.byteSize() - pageSize) - 1;
        this.tail = map.get(ValueLayout.JAVA_LONG, DATA_TAIL);
    }

    /** Where one thread's newest sample goes, and the counts tests and diagnostics look at. */
    static final class Latest {
        final long[] ips;
        int count;
        long time = Long.MIN_VALUE;
        long samples;
        long samplesWithKernel;
        long lost;
        long malformed;

        Latest(int maxFrames) {
            ips = new long[maxFrames];
        }
    }

    private long at(long position) {
        return map.get(ValueLayout.JAVA_LONG, dataOffset + (position & mask));
    }

    /**
     * Reads every record the kernel wrote since the last drain; the newest sample's time and kernel
     * addresses (innermost first, markers skipped, at most {@code latest.ips.length}) go to {@code latest}.
     *
     * @return how many records were read
     */
    int drain(Latest latest) {
        long head = (long) LONG.getAcquire(map, DATA_HEAD);
        int records = 0;
        while (tail < head) {
            long header = at(tail);
            int type = (int) header;
            int size = (int) (header >>> 48);
            if (size < 8 || (size & 7) != 0 || size > head - tail) {
                // Cannot happen with a sane kernel; skip all that is there rather than loop or misparse.
                latest.malformed++;
                tail = head;
                break;
            }
            if (type == PERF_RECORD_SAMPLE) {
                sample(latest, tail, size);
            } else if (type == PERF_RECORD_LOST && size >= 24) {
                latest.lost += at(tail + 16); // {header, u64 id, u64 lost}
            }
            tail += size;
            records++;
        }
        LONG.setRelease(map, DATA_TAIL, tail);
        return records;
    }

    /** A {@code PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CALLCHAIN} record: pid, tid, time, nr, ips. */
    private void sample(Latest latest, long start, int size) {
        if (size < 32) {
            latest.malformed++;
            return;
        }
        long time = at(start + 16);
        long nr = at(start + 24);
        if (nr < 0 || nr > (size - 32) / 8) {
            latest.malformed++;
            return;
        }
        latest.samples++;
        int n = 0;
        long[] ips = latest.ips;
        for (long i = 0; i < nr && n < ips.length; i++) {
            long ip = at(start + 32 + 8 * i);
            if (Long.compareUnsigned(ip, PERF_CONTEXT_MAX) >= 0) {
                continue; // PERF_CONTEXT_KERNEL etc.
            }
            ips[n++] = ip;
        }
        if (n > 0) {
            latest.samplesWithKernel++;
        }
        latest.count = n;
        latest.time = time;
    }
}
