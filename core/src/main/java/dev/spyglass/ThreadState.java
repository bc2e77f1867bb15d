package dev.spyglass;

/** What a thread was doing when it was sampled, as far as the kernel and interpreter tell. */
public enum ThreadState {
    /** On a CPU or ready to run ({@code R} in {@code /proc/PID/task/TID/stat}). */
    RUNNING,
    /** Sleeping, waiting for I/O, a lock or the GIL. */
    IDLE,
    /** Not determined (the mode did not ask for it, or the kernel state could not be read). */
    UNKNOWN
}
