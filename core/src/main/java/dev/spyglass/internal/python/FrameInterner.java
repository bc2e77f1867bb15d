package dev.spyglass.internal.python;

import java.util.HashMap;

import dev.spyglass.Frame;

/**
 * One instance for equal frames of one target, so that samples of a target share their frames and
 * consumers keying maps by frame hash each distinct frame once. Code entries already reuse a frame
 * per instruction offset; this catches equal frames made by different entries (a code object decoded
 * again after it left the cache, or re-created at another address by {@code exec}).
 *
 * <p>Bounded: past {@code capacity} distinct frames, new frames are returned as they are (a target
 * that keeps creating code, such as a template engine compiling on every request, must not grow the
 * sampler's memory without end). Not thread-safe: a target is read by one thread at a time.
 */
public final class FrameInterner {
    /** Distinct frames kept per target: about 25 MiB at most with their map entries. */
    public static final int DEFAULT_CAPACITY = 1 << 18;

    private final HashMap<Frame, Frame> frames = new HashMap<>();
    private final int capacity;

    /** @param capacity how many distinct frames to keep, 0 or more */
    public FrameInterner(int capacity) {
        if (capacity < 0) {
            throw new IllegalArgumentException("capacity must be >= 0: " + capacity);
        }
        this.capacity = capacity;
    }

    /** The kept instance equal to {@code frame}; {@code frame} itself when it is new (kept while there is room). */
    public Frame intern(Frame frame) {
        Frame kept = frames.get(frame);
        if (kept != null) {
            return kept;
        }
        if (frames.size() < capacity) {
            frames.put(frame, frame);
        }
        return frame;
    }

    /** How many distinct frames are kept. */
    public int size() {
        return frames.size();
    }
}
