package dev.spyglass;

/**
 * The kernel refused to let this JVM read the target's memory. Reading another process needs the
 * same rights as attaching a debugger: run as the same user as the target (and, with Yama,
 * {@code /proc/sys/kernel/yama/ptrace_scope} set to 0, or 1 with the target a descendant of this
 * JVM), or hold {@code CAP_SYS_PTRACE} (root, or {@code docker run --cap-add SYS_PTRACE}). The
 * message says which of these applies.
 */
public class AccessDeniedException extends SpyglassException {
    private static final long serialVersionUID = 1L;

    /** @param message which rule denied the read and how to get the right (see the class comment) */
    public AccessDeniedException(String message) {
        super(message);
    }
}
