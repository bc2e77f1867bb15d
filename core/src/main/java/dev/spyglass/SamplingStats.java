package dev.spyglass;

import java.time.Duration;

/**
 * Counters of a {@link SamplingSession}, consistent with each other at the moment they were taken.
 *
 * @param samples            samples delivered to the queue (one per thread per tick)
 * @param tornSamples        thread stacks dropped because the target changed while they were read
 *                           (see the package documentation); never emitted
 * @param droppedSamples     samples dropped because the consumer did not keep up (queue full)
 * @param ticks              sampling ticks taken (each looks at every thread)
 * @param elapsed            time since sampling started (until it ended, for an ended session)
 * @param achievedRate       ticks per second over {@code elapsed}; 0 before the first tick
 * @param timeBehindSchedule total lateness of ticks against their planned times
 */
public record SamplingStats(long samples, long tornSamples, long droppedSamples, long ticks, Duration elapsed,
        double achievedRate, Duration timeBehindSchedule) {
}
