package dev.spyglass;

/**
 * The process exists and can be read, but none of the objects it has mapped holds a CPython
 * interpreter Spyglass can find (no {@code _PyRuntime}, {@code Py_Version}, {@code interp_head} or
 * interpreter state reachable from its writable memory).
 */
public class NotAPythonProcessException extends SpyglassException {
    private static final long serialVersionUID = 1L;

    /** @param message what was looked for in the process and not found */
    public NotAPythonProcessException(String message) {
        super(message);
    }
}
