package dev.spyglass.cpython.abi;

/**
 * Bytes read from the target do not form a valid CPython object of the expected kind: a torn read (the
 * target changed the object while we copied it), a stale pointer, or a layout that does not match the
 * target. The message says which value was wrong and what was expected; callers count such reads as
 * errors and drop the sample rather than guessing.
 */
public class MalformedObjectException extends Exception {

    private static final long serialVersionUID = 1L;

    /** An exception with a message a person can act on. */
    public MalformedObjectException(String message) {
        super(message);
    }
}
