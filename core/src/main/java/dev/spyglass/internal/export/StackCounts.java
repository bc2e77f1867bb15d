package dev.spyglass.internal.export;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.export.ThreadGrouping;

/**
 * Distinct (root, stack) pairs with their sample count and summed weight, in order of first appearance.
 * Samples are counted per thread ({@link ThreadId}); the roots ({@link ThreadRoots}: latest names, grouping)
 * are settled when {@link #tallies()} is first asked, at the end of a recording.
 */
final class StackCounts {

    /** A stack, root first, under one root. */
    record Stack(ThreadKey thread, List<FrameKey> rootFirst) {
    }

    private record ThreadStack(ThreadId thread, List<FrameKey> rootFirst) {
    }

    static final class Tally {
        long count;
        long weightNanos;
        /** Samples whose thread had let go of the GIL ({@code gilHeld} false): C code running without it, or waiting. */
        long gilReleased;
    }

    private final boolean lineNumbers;
    private final ThreadRoots roots;
    private final Map<ThreadStack, Tally> perThread = new LinkedHashMap<>();
    private Map<Stack, Tally> tallies;
    private long totalCount;
    private long totalWeightNanos;

    StackCounts(boolean lineNumbers, ThreadGrouping grouping) {
        this.lineNumbers = lineNumbers;
        this.roots = new ThreadRoots(grouping);
    }

    void add(StackSample sample) {
        if (tallies != null) {
            throw new IllegalStateException("stack counts already settled");
        }
        List<Frame> frames = sample.frames();
        List<FrameKey> rootFirst = new ArrayList<>(frames.size());
        for (int i = frames.size() - 1; i >= 0; i--) {
            rootFirst.add(FrameKey.of(frames.get(i), lineNumbers));
        }
        Tally t = perThread.computeIfAbsent(new ThreadStack(roots.observe(sample), List.copyOf(rootFirst)),
                k -> new Tally());
        t.count++;
        t.weightNanos += Math.max(0, sample.weightNanos());
        if (Boolean.FALSE.equals(sample.gilHeld())) {
            t.gilReleased++;
        }
        totalCount++;
        totalWeightNanos += Math.max(0, sample.weightNanos());
    }

    /** The tallies under their roots; after the first call no sample can be added. */
    Map<Stack, Tally> tallies() {
        if (tallies == null) {
            Map<ThreadId, ThreadKey> rootOf = roots.roots();
            Map<Stack, Tally> merged = new LinkedHashMap<>();
            for (Map.Entry<ThreadStack, Tally> e : perThread.entrySet()) {
                Tally into = merged.computeIfAbsent(
                        new Stack(rootOf.get(e.getKey().thread()), e.getKey().rootFirst()), k -> new Tally());
                into.count += e.getValue().count;
                into.weightNanos += e.getValue().weightNanos;
                into.gilReleased += e.getValue().gilReleased;
            }
            tallies = merged;
        }
        return tallies;
    }

    long totalCount() {
        return totalCount;
    }

    long totalWeightNanos() {
        return totalWeightNanos;
    }
}
