package dev.spyglass;

/**
 * Base of the checked exceptions Spyglass throws when a process cannot be profiled. Each subclass
 * names a cause a person can act on.
 */
public class SpyglassException extends Exception {
    private static final long serialVersionUID = 1L;

    /** @param message the cause, in words a person can act on */
    public SpyglassException(String message) {
        super(message);
    }

    /**
     * @param message the cause, in words a person can act on
     * @param cause   the underlying failure
     */
    public SpyglassException(String message, Throwable cause) {
        super(message, cause);
    }
}
