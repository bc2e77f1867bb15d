package dev.spyglass.internal.push;

import dev.spyglass.StackSample;
import dev.spyglass.export.ProfileMetadata;

/**
 * The samples of one push interval, in the shape a receiver wants them. {@link #add} is called by the sampling
 * side, {@link #payload} once by the pushing side after the window is closed; never both at once.
 */
public interface PushWindow {

    /** Adds a sample the sink keeps (it has frames, and is not idle unless idle samples are kept). */
    void add(StackSample sample);

    /** Samples added. */
    long samples();

    /**
     * The request for this window.
     *
     * @param metadata   the recording's metadata now
     * @param startNanos the window's start, nanoseconds since the epoch
     * @param endNanos   its end
     */
    Payload payload(ProfileMetadata metadata, long startNanos, long endNanos);
}
