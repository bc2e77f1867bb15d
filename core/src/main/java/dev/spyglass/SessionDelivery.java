package dev.spyglass;

import dev.spyglass.internal.session.EventBuffer;
import dev.spyglass.internal.session.FollowedProcess;
import dev.spyglass.internal.session.SampleHandoff;

/**
 * Takes a {@link SamplingSession}'s events into its queue, counting what it delivers, drops and finds torn. Written
 * by the sampling thread only; the counters are read by any thread ({@link SamplingSession#stats()}).
 */
final class SessionDelivery implements EventBuffer {
    private final SampleHandoff queue;
    /** The target, counted here when the session follows no children (a family counts its own); else null. */
    private final FollowedProcess self;
    volatile long samples;
    volatile long torn;
    volatile long dropped;
    private volatile long tornAtFirst;
    private volatile long recovered;

    SessionDelivery(SampleHandoff queue, FollowedProcess self) {
        this.queue = queue;
        this.self = self;
    }

    @Override
    public void add(ProfileEvent event) {
        switch (event) {
            case StackSample s -> {
                if (self != null) {
                    self.counted(1);
                }
                if (queue.offer(s)) {
                    samples++;
                } else {
                    dropped++;
                }
            }
        }
    }

    @Override
    public void tornSample() {
        torn++;
    }

    @Override
    public void tornAtFirstRead(boolean recoveredByRetry) {
        tornAtFirst++;
        if (recoveredByRetry) {
            recovered++;
        }
    }

    SamplingStats.TornReads tornReads() {
        long r = recovered; // first: the sampling thread counts a first read torn before its recovery
        return new SamplingStats.TornReads(tornAtFirst, r);
    }
}
