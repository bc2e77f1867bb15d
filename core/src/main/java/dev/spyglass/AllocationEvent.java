package dev.spyglass;

import java.util.List;

/**
 * One allocation or release of a block by the target's allocator, seen by the probes of a {@link LeakTracker}
 * and delivered by {@link LeakTracker#poll(java.util.function.Consumer)}, in the order the probes fired over all
 * threads. A reallocation is the release of the old block followed by the allocation of the new one (at the same
 * address when the block was resized in place).
 *
 * @param kind      allocation or release
 * @param tid       the thread that called the allocator (its kernel TID); 0 for the release of a pymalloc pool, found
 *                  by reading the pool's header ({@link LeakTracker.Level#POOLS}), not by a call
 * @param timeNanos when the probe fired, on {@code CLOCK_MONOTONIC} (the clock of {@link System#nanoTime()} on
 *                  Linux); an allocation is timed at its return
 * @param address   the block's address in the target; 0 for an allocation that failed
 * @param size      the bytes asked for; for a release, the size of the block as its allocation was seen, or -1 when
 *                  it was not (allocated before the probes, dropped from a full table, or by a path not probed)
 * @param frames    for an allocation, the stack that allocated, innermost first, lines cleared (Python frames, merged
 *                  with native ones when the tracker was attached with native frames; see {@link LeakTracker});
 *                  empty for a release
 */
public record AllocationEvent(Kind kind, int tid, long timeNanos, long address, long size, List<Frame> frames) {

    public AllocationEvent {
        java.util.Objects.requireNonNull(kind, "kind");
        frames = List.copyOf(frames);
    }

    /** Which side of a block's life. */
    public enum Kind {
        /** The allocator returned a block ({@code malloc}, {@code calloc}, or a {@code realloc}'s new block). */
        ALLOCATION,
        /** A block was given back ({@code free}, or the old block of a {@code realloc} that moved it). */
        RELEASE
    }
}
