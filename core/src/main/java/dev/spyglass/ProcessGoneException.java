package dev.spyglass;

import java.util.OptionalInt;

/**
 * The process does not exist (any more): wrong PID, or it exited while Spyglass was reading it, or it
 * replaced its program ({@code exec}) while it was sampled ({@link #programReplaced()}).
 */
public class ProcessGoneException extends SpyglassException {
    private static final long serialVersionUID = 1L;

    private final long pid;
    private final int exitStatus;
    private final boolean exitStatusKnown;
    private final boolean programReplaced;

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
        this.programReplaced = false;
    }

    /**
     * A process that ended while Spyglass read it: it exited (also when its PID now names another
     * process), or, with {@code programReplaced}, it is still there but runs another program after
     * {@code exec}. Either way the process that was attached is no longer readable.
     *
     * @param pid             the PID that was asked for
     * @param message         what happened, naming the PID
     * @param programReplaced {@code true} for an {@code exec}, {@code false} for an exit
     */
    public ProcessGoneException(long pid, String message, boolean programReplaced) {
        super(message);
        this.pid = pid;
        this.exitStatus = 0;
        this.exitStatusKnown = false;
        this.programReplaced = programReplaced;
    }

    /** A launched process that exited (with {@code exitStatus}) before sampling could start. */
    public ProcessGoneException(long pid, String message, int exitStatus) {
        super(message);
        this.pid = pid;
        this.exitStatus = exitStatus;
        this.exitStatusKnown = true;
        this.programReplaced = false;
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

    /**
     * {@code true} when the process did not exit but replaced its program ({@code execve}): its PID and
     * start time are the same, its memory is another program's. Spyglass ends a session then rather
     * than record the new program into the old profile.
     */
    public boolean programReplaced() {
        return programReplaced;
    }
}
