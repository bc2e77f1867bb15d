package dev.spyglass;

import java.util.OptionalInt;

/** The process does not exist (any more): wrong PID, or it exited while Spyglass was reading it. */
public class ProcessGoneException extends SpyglassException {
    private static final long serialVersionUID = 1L;

    private final long pid;
    private final int exitStatus;
    private final boolean exitStatusKnown;

    /**
     * A process that does not exist or has exited; its exit status is unknown.
     *
     * @param pid     the PID that was asked for
     * @param message what Spyglass was doing when the process was found gone
     */
    public ProcessGoneException(long pid, String message) {
        super(message);
        this.pid = pid;
        this.exitStatus = 0;
        this.exitStatusKnown = false;
    }

    /** A launched process that exited (with {@code exitStatus}) before sampling could start. */
    public ProcessGoneException(long pid, String message, int exitStatus) {
        super(message);
        this.pid = pid;
        this.exitStatus = exitStatus;
        this.exitStatusKnown = true;
    }

    /** The PID that was asked for. */
    public long pid() {
        return pid;
    }

    /**
     * The exit status of a launched process that ended before its interpreter could be sampled
     * (128 + N for death by signal N, as a shell reports it); empty otherwise.
     */
    public OptionalInt exitStatus() {
        return exitStatusKnown ? OptionalInt.of(exitStatus) : OptionalInt.empty();
    }
}
