package dev.spyglass.internal.leaks;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashSet;
import java.util.Set;

import dev.spyglass.SpyglassException;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * The pymalloc pools recorded live at the pools level, and their releases, which no function shows ({@link PoolPoints}):
 * at every poll the first word of each pool's header ({@code ref.count}, its blocks in use; 3.9 - 3.13 put the
 * header at the pool's start) is read, in batches of {@link RemoteMemory#MAX_IOV} ranges per system call. A pool at
 * 0, or no longer mapped (its arena went back), is released. A pool emptied and taken again between two polls is
 * not missed: its refill is probed again, and the record at its address is replaced. Used from the polling thread
 * only. It reads through a reader of its own, so the stack reads' count of system calls (which tells whether a
 * look saw the target in one instant) is left alone.
 *
 * <p>The pool size is not taken on trust: the first pool's header must say it ({@code maxnextoffset} plus the size
 * class's block size, {@code (szidx + 1) * 16}, is the pool size on 64-bit builds since 3.8's 16-byte alignment).
 */
public final class PoolSweep implements AutoCloseable {
    /** The header fields read to check the pool size: {@code szidx} at 36, {@code maxnextoffset} at 44 (both uint). */
    private static final int HEADER_BYTES = 48;

    private final long pid;
    private RemoteMemory memory;
    private final long[] sizes;
    private final Set<Long> live = new HashSet<>();
    private final MemorySegment counts = Arena.ofAuto().allocate(RemoteMemory.MAX_IOV * 4L, 8);
    private final MemorySegment header = Arena.ofAuto().allocate(HEADER_BYTES, 8);
    /** The pool size the first header that fitted showed; 0 before (a refill is not recorded until one fits). */
    private long poolSize;
    private long swept;

    /** Pools of process {@code pid}, of size {@code expected} (the version's), or of the other size if not. */
    public PoolSweep(long pid, long expected) {
        this.pid = pid;
        this.sizes = expected == 4096 ? new long[] {4096, 16384} : new long[] {16384, 4096};
    }

    /**
     * The pool that block {@code block}, just returned by the pool refill, is the first of; -1 when it cannot be told
     * (no header fits a known pool size, or the memory cannot be read).
     */
    public long poolOf(long block) throws SpyglassException {
        if (memory == null) {
            memory = RemoteMemory.open(pid, block);
        }
        if (poolSize == 0) {
            for (long size : sizes) {
                if (headerSays(block & -size, size)) {
                    poolSize = size;
                    break;
                }
            }
            if (poolSize == 0) {
                return -1; // try again with the next pool: this one may have gone already
            }
        }
        return block & -poolSize;
    }

    private boolean headerSays(long pool, long size) throws SpyglassException {
        if (memory.readPartial(pool, header) < HEADER_BYTES) {
            return false;
        }
        long szidx = Integer.toUnsignedLong(header.get(ValueLayout.JAVA_INT_UNALIGNED, 36));
        long maxNext = Integer.toUnsignedLong(header.get(ValueLayout.JAVA_INT_UNALIGNED, 44));
        return szidx < 64 && maxNext + (szidx + 1) * 16 == size;
    }

    /** The size of the pools recorded: 0 before the first. */
    public long poolSize() {
        return poolSize;
    }

    /** Receives the allocations and releases of pools applied to the table; {@code stack} -1 for a release. */
    @FunctionalInterface
    public interface Sink {
        void event(boolean allocation, int tid, long time, long address, long size, int stack);
    }

    /**
     * A pool refill on thread {@code tid} at {@code time} returned {@code block}: the pool it is the first block of
     * goes into {@code table} under {@code stack}, and to {@code sink} (when not null). A pool still recorded was
     * emptied and taken again since the last sweep: its old record goes first, as a release.
     */
    public void refilled(long block, int stack, int tid, long time, LiveAllocations table, Sink sink)
            throws SpyglassException {
        long pool = poolOf(block);
        if (pool < 0) {
            return;
        }
        if (live.remove(pool)) {
            released(pool, tid, time, table, sink);
        }
        table.allocated(pool, poolSize, stack);
        live.add(pool);
        if (sink != null) {
            sink.event(true, tid, time, pool, poolSize, stack);
        }
    }

    private static void released(long pool, int tid, long time, LiveAllocations table, Sink sink) {
        long size = table.freed(pool);
        if (sink != null) {
            sink.event(false, tid, time, pool, size, -1);
        }
    }

    /** Pools recorded live. */
    public int live() {
        return live.size();
    }

    /** Headers read so far. */
    public long swept() {
        return swept;
    }

    /**
     * Reads every live pool's count: each found empty or unmapped goes from {@code table}, given to {@code sink} as a
     * release at {@code time} by no thread (tid 0).
     */
    public void sweep(LiveAllocations table, long time, Sink sink) throws SpyglassException {
        if (live.isEmpty() || memory == null) {
            return;
        }
        long[] pools = live.stream().mapToLong(Long::longValue).toArray();
        int next = 0;
        while (next < pools.length) {
            int n = Math.min(RemoteMemory.MAX_IOV, pools.length - next);
            memory.clear();
            for (int i = 0; i < n; i++) {
                memory.add(pools[next + i], counts, i * 4L, 4);
            }
            // Reading stops at the first range not mapped: that pool's arena went back, the rest are read again.
            int read = memory.flush();
            swept += read;
            for (int i = 0; i < read; i++) {
                if (counts.get(ValueLayout.JAVA_INT, i * 4L) == 0) {
                    live.remove(pools[next + i]);
                    released(pools[next + i], 0, time, table, sink);
                }
            }
            if (read < n) {
                live.remove(pools[next + read]);
                released(pools[next + read], 0, time, table, sink);
                next += read + 1;
            } else {
                next += n;
            }
        }
    }

    @Override
    public void close() {
        if (memory != null) {
            memory.close();
        }
    }
}
