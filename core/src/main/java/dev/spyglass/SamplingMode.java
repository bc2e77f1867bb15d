package dev.spyglass;

/** Which threads a {@link Sampler} reports at each tick. */
public enum SamplingMode {
    /** Every thread, running or not: where wall-clock time goes. */
    WALL,
    /**
     * Only threads the kernel shows running ({@code R} in {@code /proc/PID/task/TID/stat}) at the
     * tick: where CPU time goes. Each sample's weight is the CPU time the process used since the
     * previous tick (its exact process CPU clock; at most two intervals, so a late tick does not weigh
     * like many), shared equally among the threads reported at this tick; a tick after which the process used no CPU (asleep, or waiting for a CPU on a loaded
     * machine) reports nothing. Threads whose kernel id is unknown are reported when they hold the GIL.
     */
    CPU
}
