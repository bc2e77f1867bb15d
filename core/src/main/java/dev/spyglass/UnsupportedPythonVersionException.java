package dev.spyglass;

/**
 * The target runs a CPython whose in-memory layout Spyglass does not know. The message names the
 * version found and the versions supported.
 */
public class UnsupportedPythonVersionException extends SpyglassException {
    private static final long serialVersionUID = 1L;

    /** The versions this release of Spyglass reads, as shown in messages. */
    public static final String SUPPORTED = "2.7 and 3.6 - 3.15, and free-threaded 3.13t - 3.15t";

    /** @param message the version found, why it cannot be read, and {@link #SUPPORTED} */
    public UnsupportedPythonVersionException(String message) {
        super(message);
    }
}
