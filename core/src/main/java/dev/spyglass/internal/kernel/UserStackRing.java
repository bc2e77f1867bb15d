package dev.spyglass.internal.kernel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One thread's ring of {@code PERF_SAMPLE_IDENTIFIER | TID | TIME | REGS_USER | STACK_USER} records, from
 * its two events (CPU clock, context switches), and the snapshot kept from them: of the records written
 * before a given time, the newest, its user registers ({@code rbp, rsp, rip}) and stack bytes copied out.
 *
 * <p>The record layout ({@code linux/perf_event.h}, PERF_RECORD_SAMPLE, in the order of the sample type's
 * bits; checked on 6.18): {@code header(8) | id u64 | pid u32, tid u32 | time u64 | abi u64,
 * regs[popcount(sample_regs_user)] u64 (absent when abi is PERF_SAMPLE_REGS_ABI_NONE) | size u64,
 * data[size], dyn_size u64 (dyn_size absent when size is 0)}. The registers come in mask bit order: BP (6),
 * SP (7), IP (8). {@code size} is what was asked, cut to what lies below the top of user space;
 * {@code dyn_size} what the kernel could copy (it stops at an unmapped or not-resident page).
 */
final class UserStackRing {
    static final int PERF_RECORD_LOST = 2;
    static final int PERF_RECORD_THROTTLE = 5;
    static final int PERF_RECORD_SAMPLE = 9;

    final int clockFd;
    final int switchFd;
    final MemorySegment map;
    private final long switchId;
    private final PerfRingData data;
    private final int maxRecord;

    // The snapshot: the newest record written before the last drain's bound.
    final MemorySegment stack;
    long stackLength;
    long rip;
    long rsp;
    long rbp;
    long time = Long.MIN_VALUE;
    boolean switchOut;
    boolean usable;
    /** Records may have been dropped (ring full) after the snapshot's: it may not be the newest. */
    boolean lostSince;
    long lost;
    long malformed;
    long samples;

    // The thread's CPU time (the clock event's count) at the last two reads, and when each read began.
    long cpuNow = -1;
    long cpuBefore = -1;
    long cpuReadNanos = Long.MIN_VALUE;
    long cpuReadNanosBefore = Long.MIN_VALUE;

    UserStackRing(int clockFd, int switchFd, long switchId, MemorySegment map, long pageSize, int stackBytes,
            Arena arena) {
        this.clockFd = clockFd;
        this.switchFd = switchFd;
        this.switchId = switchId;
        this.map = map;
        this.data = new PerfRingData(map, pageSize);
        this.maxRecord = 8 + 8 + 8 + 8 + 8 + 3 * 8 + 8 + stackBytes + 8;
        this.stack = arena.allocate(stackBytes, 8);
    }

    /**
     * Reads every record since the last drain; the newest sample written before {@code beforeNanos}
     * (CLOCK_MONOTONIC) becomes the snapshot. Only that one is copied.
     */
    void drain(long beforeNanos) {
        PerfRingData d = data;
        long head = d.head();
        long start = d.tail;
        long chosen = -1;
        int chosenSize = 0;
        while (d.tail < head) {
            long header = d.at(d.tail);
            int type = (int) header;
            int size = (int) (header >>> 48);
            if (size < 8 || (size & 7) != 0 || size > head - d.tail) {
                malformed++; // cannot happen with a sane kernel: skip what is there rather than misparse
                lostSince = true;
                d.tail = head;
                break;
            }
            if (type == PERF_RECORD_SAMPLE && size >= 40) {
                samples++;
                long time = d.at(d.tail + 24);
                if (time < beforeNanos) {
                    chosen = d.tail;
                    chosenSize = size;
                    lostSince = false;
                }
            } else if (type == PERF_RECORD_LOST && size >= 24) {
                lost += d.at(d.tail + 16); // {header, u64 id, u64 lost}
                lostSince = true;
            } else if (type == PERF_RECORD_THROTTLE) {
                // The kernel held the event back (too many samples per tick): snapshots were not taken. The
                // switch-out event (period 1) is not throttled on 6.18 (its first overflow is never), but a
                // missing record is a missing record.
                lostSince = true;
            }
            d.tail += size;
        }
        if (chosen >= 0) {
            copy(chosen, chosenSize);
        }
        // The kernel writes a LOST record only once there is room again: while the ring has less room than
        // one record, records may have been dropped after the newest one here, with no mark yet.
        if (d.dataSize - (head - start) < maxRecord + 64L) {
            lostSince = true;
        }
        d.release();
    }

    /**
     * Reads every record since the last drain; each sample in turn becomes the snapshot and {@code onSample}
     * runs (page faults: every record stands for memory, not only the newest).
     */
    void drainEach(Runnable onSample) {
        PerfRingData d = data;
        long head = d.head();
        while (d.tail < head) {
            long header = d.at(d.tail);
            int type = (int) header;
            int size = (int) (header >>> 48);
            if (size < 8 || (size & 7) != 0 || size > head - d.tail) {
                malformed++;
                d.tail = head;
                break;
            }
            if (type == PERF_RECORD_SAMPLE && size >= 40) {
                samples++;
                copy(d.tail, size);
                onSample.run();
            } else if (type == PERF_RECORD_LOST && size >= 24) {
                lost += d.at(d.tail + 16);
            }
            d.tail += size;
        }
        d.release();
    }

    private void copy(long at, int size) {
        long end = at + size;
        long id = data.at(at + 8);
        time = data.at(at + 24);
        switchOut = id == switchId;
        usable = false;
        long p = at + 32;
        long abi = data.at(p);
        p += 8;
        if (abi == 0 || p + 24 + 8 > end) {
            return; // no user registers (a thread leaving, a kernel thread)
        }
        rbp = data.at(p);
        rsp = data.at(p + 8);
        rip = data.at(p + 16);
        p += 24;
        long dataLength = data.at(p);
        p += 8;
        if (dataLength <= 0 || dataLength > stack.byteSize() || p + dataLength + 8 > end) {
            malformed += dataLength > 0 ? 1 : 0;
            return;
        }
        long dyn = data.at(p + dataLength);
        long n = Math.min(dataLength, Math.max(0, dyn));
        if (n == 0) {
            return;
        }
        data.copy(p, stack, n); // it may wrap past the ring's end
        stackLength = n;
        usable = true;
    }
}
