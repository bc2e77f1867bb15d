package dev.spyglass.internal.kernel;

import java.lang.foreign.MemorySegment;

/**
 * One thread's perf ring buffer: the mmap'd {@code struct perf_event_mmap_page} (one page) followed by
 * 2^n data pages the kernel writes records into. Reading follows {@code perf_event.h}: load
 * {@code data_head} with acquire semantics, parse the records between our tail and the head, then store
 * {@code data_tail} with release semantics so the kernel may reuse the space ({@link PerfRingData}).
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

    final int fd;
    final MemorySegment map;
    private final PerfRingData data;

    PerfRing(int fd, MemorySegment map, long pageSize) {
        this.fd = fd;
        this.map = map;
        this.data = new PerfRingData(map, pageSize);
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

    /**
     * Reads every record the kernel wrote since the last drain; the newest sample's time and kernel
     * addresses (innermost first, markers skipped, at most {@code latest.ips.length}) go to {@code latest}.
     *
     * @return how many records were read
     */
    int drain(Latest latest) {
        PerfRingData d = data;
        long head = d.head();
        int records = 0;
        while (d.tail < head) {
            long header = d.at(d.tail);
            int type = (int) header;
            int size = (int) (header >>> 48);
            if (size < 8 || (size & 7) != 0 || size > head - d.tail) {
                // Cannot happen with a sane kernel; skip all that is there rather than loop or misparse.
                latest.malformed++;
                d.tail = head;
                break;
            }
            if (type == PERF_RECORD_SAMPLE) {
                sample(latest, d.tail, size);
            } else if (type == PERF_RECORD_LOST && size >= 24) {
                latest.lost += d.at(d.tail + 16); // {header, u64 id, u64 lost}
            }
            d.tail += size;
            records++;
        }
        d.release();
        return records;
    }

    /** A {@code PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CALLCHAIN} record: pid, tid, time, nr, ips. */
    private void sample(Latest latest, long start, int size) {
        if (size < 32) {
            latest.malformed++;
            return;
        }
        long time = data.at(start + 16);
        long nr = data.at(start + 24);
        if (nr < 0 || nr > (size - 32) / 8) {
            latest.malformed++;
            return;
        }
        latest.samples++;
        int n = 0;
        long[] ips = latest.ips;
        for (long i = 0; i < nr && n < ips.length; i++) {
            long ip = data.at(start + 32 + 8 * i);
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
