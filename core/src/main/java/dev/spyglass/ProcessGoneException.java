package dev.spyglass;

/** The process does not exist (any more): wrong PID, or it exited while Spyglass was reading it. */
public class ProcessGoneException extends SpyglassException {
    private static final long serialVersionUID = 1L;

    private final long pid;

    public ProcessGoneException(long pid, String message) {
        super(message);
        this.pid = pid;
    }

    /** The PID that was asked for. */
    public long pid() {
        return pid;
    }
}
