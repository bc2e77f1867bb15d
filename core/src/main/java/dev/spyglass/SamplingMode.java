package dev.spyglass;

/** Which threads a {@link Sampler} reports at each tick. */
public enum SamplingMode {
    /** Every thread, running or not: where wall-clock time goes. */
    WALL,
    /**
     * Only threads the kernel shows running ({@code R} in {@code /proc/PID/task/TID/stat}) at the
     * tick: where CPU time goes. Threads whose kernel id is unknown are reported when they hold the GIL.
     */
    CPU
}
