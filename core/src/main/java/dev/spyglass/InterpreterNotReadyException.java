package dev.spyglass;

/**
 * A launched target did not initialise its interpreter before the deadline (it may be stuck before
 * {@code Py_Initialize}, or not be a Python program at all). The message says which step was missing:
 * the interpreter library not yet mapped, {@code _PyRuntime} without an interpreter, an interpreter
 * without threads, or threads without a Python frame.
 */
public class InterpreterNotReadyException extends SpyglassException {
    private static final long serialVersionUID = 1L;

    /** @param message which step of the interpreter's start was still missing at the deadline */
    public InterpreterNotReadyException(String message) {
        super(message);
    }
}
