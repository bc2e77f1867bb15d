package dev.spyglass.internal.export;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;

/** Distinct (thread, stack) pairs with their sample count and summed weight, in order of first appearance. */
final class StackCounts {

    /** A stack, root first, on one thread. */
    record Stack(ThreadKey thread, List<FrameKey> rootFirst) {
    }

    static final class Tally {
        long count;
        long weightNanos;
    }

    private final boolean lineNumbers;
    private final Map<Stack, Tally> tallies = new LinkedHashMap<>();
    private long totalCount;
    private long totalWeightNanos;

    StackCounts(boolean lineNumbers) {
        this.lineNumbers = lineNumbers;
    }

    void add(StackSample sample) {
        List<Frame> frames = sample.frames();
        List<FrameKey> rootFirst = new ArrayList<>(frames.size());
        for (int i = frames.size() - 1; i >= 0; i--) {
            rootFirst.add(FrameKey.of(frames.get(i), lineNumbers));
        }
        Tally t = tallies.computeIfAbsent(new Stack(ThreadKey.of(sample), List.copyOf(rootFirst)), k -> new Tally());
        t.count++;
        t.weightNanos += Math.max(0, sample.weightNanos());
        totalCount++;
        totalWeightNanos += Math.max(0, sample.weightNanos());
    }

    Map<Stack, Tally> tallies() {
        return tallies;
    }

    long totalCount() {
        return totalCount;
    }

    long totalWeightNanos() {
        return totalWeightNanos;
    }
}
