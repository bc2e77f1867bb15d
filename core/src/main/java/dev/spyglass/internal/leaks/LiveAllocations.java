package dev.spyglass.internal.leaks;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The allocations seen and not yet seen released, by address, and their sum by stack; snapshots of each stack's
 * surviving bytes over time, from which {@link #rank} orders the stacks, steady growers (the leak suspects)
 * first. Bounded: beyond {@code capacity} live entries new allocations are counted as dropped, not kept; the
 * snapshot series is halved (every other one kept) when it reaches its length. Used from one thread.
 */
public final class LiveAllocations {
    /** Snapshots kept per stack at most: beyond, every other is dropped and the spacing doubles. */
    static final int SERIES = 256;
    /** A suspect kept at least this share of the bytes it allocated over the run. */
    static final double SUSPECT_SHARE = 0.05;

    private record Live(long size, int stack) {
    }

    /** One stack's sums, and its surviving bytes at each snapshot. */
    static final class PerStack {
        long bytes;
        long count;
        long allocations;
        long allocatedBytes;
        long[] series = new long[SERIES];
    }

    private final int capacity;
    private final Map<Long, Live> live = new HashMap<>();
    private final List<PerStack> stacks = new ArrayList<>();
    private final long[] times = new long[SERIES];
    private int snapshots;
    private int stride = 1;
    private long snapshotCalls;
    private long dropped;
    private long replaced;
    private long unmatchedFrees;
    private long allocations;
    private long frees;

    public LiveAllocations(int capacity) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity " + capacity);
        }
        this.capacity = capacity;
    }

    /** An allocation of {@code size} bytes at {@code address} under stack {@code stack} (0, 1, 2... as interned). */
    public void allocated(long address, long size, int stack) {
        allocations++;
        while (stacks.size() <= stack) {
            stacks.add(new PerStack());
        }
        PerStack s = stacks.get(stack);
        s.allocations++;
        s.allocatedBytes += size;
        if (address == 0) {
            return; // the allocation failed
        }
        Live old = live.get(address);
        if (old != null) {
            // The address came back without its release seen (a realloc moving the block, or a path the probes do
            // not cover): the old block is gone.
            replaced++;
            forget(old);
        } else if (live.size() >= capacity) {
            dropped++;
            return;
        }
        live.put(address, new Live(size, stack));
        s.bytes += size;
        s.count++;
    }

    /**
     * A release of {@code address}: forgotten when it was live, else counted as unmatched (allocated before).
     *
     * @return the size the block was allocated with, -1 when it was not live
     */
    public long freed(long address) {
        frees++;
        Live old = live.remove(address);
        if (old == null) {
            unmatchedFrees++;
            return -1;
        }
        forget(old);
        return old.size();
    }

    /**
     * Part of live block {@code address} went without the rest (a mapping unmapped in part): the block becomes the
     * pieces {@code pieces} (address, size pairs) under its stack, neither an allocation nor a release. A piece
     * beyond the capacity is counted as dropped.
     *
     * @return the bytes that went, -1 when {@code address} was not live
     */
    public long cut(long address, long... pieces) {
        Live old = live.remove(address);
        if (old == null) {
            return -1;
        }
        forget(old);
        PerStack s = stacks.get(old.stack());
        long kept = 0;
        for (int i = 0; i + 1 < pieces.length; i += 2) {
            if (live.size() >= capacity) {
                dropped++;
                continue;
            }
            Live gone = live.put(pieces[i], new Live(pieces[i + 1], old.stack()));
            if (gone != null) {
                replaced++;
                forget(gone);
            }
            s.bytes += pieces[i + 1];
            s.count++;
            kept += pieces[i + 1];
        }
        return old.size() - kept;
    }

    private void forget(Live old) {
        PerStack s = stacks.get(old.stack());
        s.bytes -= old.size();
        s.count--;
    }

    /** Records every stack's surviving bytes at {@code timeNanos}. */
    public void snapshot(long timeNanos) {
        if (snapshotCalls++ % stride != 0) {
            return;
        }
        if (snapshots == SERIES) {
            for (int i = 0; i < SERIES / 2; i++) {
                times[i] = times[2 * i];
                for (PerStack s : stacks) {
                    s.series[i] = s.series[2 * i];
                }
            }
            snapshots = SERIES / 2;
            stride *= 2;
        }
        times[snapshots] = timeNanos;
        for (PerStack s : stacks) {
            s.series[snapshots] = s.bytes;
        }
        snapshots++;
    }

    /** One stack's standing at the end of the run. */
    public record Ranked(int stack, long survivingBytes, long survivingCount, long allocations, long allocatedBytes,
            double growthBytesPerSecond, double growingShare, boolean suspect, long[] seriesBytes) {
    }

    /**
     * The stacks with surviving bytes: suspects first (surviving memory that grew over the run: a positive
     * least-squares slope, at least half of the steps between snapshots up, and a growth from the first snapshot
     * to the last of at least {@link #SUSPECT_SHARE} of the bytes the stack allocated), by growth rate; then the
     * others by surviving bytes.
     */
    public List<Ranked> rank() {
        List<Ranked> out = new ArrayList<>();
        for (int i = 0; i < stacks.size(); i++) {
            PerStack s = stacks.get(i);
            if (s.bytes <= 0 && s.count <= 0) {
                continue;
            }
            long[] series = java.util.Arrays.copyOf(s.series, snapshots);
            double slope = slope(series);
            int up = 0;
            int steps = 0;
            for (int k = 1; k < snapshots; k++) {
                if (series[k] != series[k - 1]) {
                    steps++;
                    if (series[k] > series[k - 1]) {
                        up++;
                    }
                }
            }
            double share = steps == 0 ? 0 : (double) up / steps;
            long grew = snapshots == 0 ? 0 : series[snapshots - 1] - series[0];
            boolean suspect = snapshots >= 3 && slope > 0 && share >= 0.5
                    // grew by more than the noise of one allocation in flight per snapshot
                    && grew > 2 * Math.max(1, s.allocatedBytes / Math.max(1, s.allocations))
                    // and kept a real part of what it allocated: a function churning through 3.3 MB kept 56 bytes
                    // more at each poll (free lists, blocks released through paths not probed), 0.5%
                    && grew >= SUSPECT_SHARE * s.allocatedBytes;
            out.add(new Ranked(i, s.bytes, s.count, s.allocations, s.allocatedBytes, slope, share, suspect, series));
        }
        out.sort(Comparator.comparing((Ranked r) -> !r.suspect())
                .thenComparing(r -> r.suspect() ? -r.growthBytesPerSecond() : -r.survivingBytes()));
        return out;
    }

    /** Least-squares slope of the series against the snapshot times, in bytes per second. */
    private double slope(long[] series) {
        int n = series.length;
        if (n < 2) {
            return 0;
        }
        double mt = 0;
        double mb = 0;
        for (int i = 0; i < n; i++) {
            mt += (times[i] - times[0]) / 1e9;
            mb += series[i];
        }
        mt /= n;
        mb /= n;
        double num = 0;
        double den = 0;
        for (int i = 0; i < n; i++) {
            double t = (times[i] - times[0]) / 1e9 - mt;
            num += t * (series[i] - mb);
            den += t * t;
        }
        return den == 0 ? 0 : num / den;
    }

    /** Allocations not kept because the table was full. */
    public long dropped() {
        return dropped;
    }

    /** Live addresses allocated again without their release seen. */
    public long replaced() {
        return replaced;
    }

    /** Releases of addresses not in the table (allocated before the probes, or dropped). */
    public long unmatchedFrees() {
        return unmatchedFrees;
    }

    public long allocations() {
        return allocations;
    }

    public long frees() {
        return frees;
    }

    /** Live entries now. */
    public int live() {
        return live.size();
    }

    /** Snapshot times kept, in nanoseconds. */
    public long[] times() {
        return java.util.Arrays.copyOf(times, snapshots);
    }
}
