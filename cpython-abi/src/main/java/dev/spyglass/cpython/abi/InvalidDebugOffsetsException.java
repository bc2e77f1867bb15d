package dev.spyglass.cpython.abi;

/**
 * The bytes given as {@code _Py_DebugOffsets} are not a plausible debug-offsets table: wrong cookie,
 * a version other than the one detected, too few bytes, or sizes and offsets that cannot be real.
 * Usually the address used for {@code _PyRuntime} is wrong, or the memory was read torn.
 */
public final class InvalidDebugOffsetsException extends Exception {

    private static final long serialVersionUID = 1L;

    /** @param message what is wrong, naming the field and value */
    public InvalidDebugOffsetsException(String message) {
        super(message);
    }
}
