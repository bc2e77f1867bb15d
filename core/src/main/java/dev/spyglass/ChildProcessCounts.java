package dev.spyglass;

/**
 * What following a session's child processes ({@link Sampler.Builder#followChildren}) came across, beyond the
 * processes it sampled ({@link SamplingSession#processes()}). All zero for a session that does not follow them.
 *
 * @param found              descendants seen (each process once per program it ran), the target excluded
 * @param python             of those, the CPython processes attached and sampled
 * @param notPython          descendants running no CPython (a shell, a helper binary): skipped, their own
 *                           descendants still followed
 * @param accessDenied       descendants whose memory may not be read (another user's, a stricter
 *                           {@code ptrace_scope}): skipped, said once in the log
 * @param exitedBeforeAttach descendants that exited (or {@code exec}ed) between being found and being attached
 * @param unsupported        CPython processes of a version or build Spyglass cannot read, or whose interpreter
 *                           was never ready to read
 * @param deferred           looks put off to a later scan because one scan's work is bounded (many short-lived
 *                           children at once); a process still there at the next scan is looked at then
 */
public record ChildProcessCounts(long found, long python, long notPython, long accessDenied, long exitedBeforeAttach,
        long unsupported, long deferred) {

    /** A session that does not follow child processes. */
    public static final ChildProcessCounts NONE = new ChildProcessCounts(0, 0, 0, 0, 0, 0, 0);
}
