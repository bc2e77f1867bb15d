package dev.spyglass.cpython.abi;

import java.util.Objects;

/**
 * No {@link Layout} can be had for a CPython version: no built-in table and no usable
 * {@code _Py_DebugOffsets}. The message names the version and what is supported. Named after what
 * is missing (a layout) rather than after the version: the library's users see a single
 * {@code UnsupportedPythonVersionException}, which the core module makes from this one.
 */
public final class UnsupportedLayoutException extends Exception {

    private static final long serialVersionUID = 1L;

    /** What {@link Layouts} and {@link DebugOffsets} support, for messages. */
    public static final String SUPPORTED = "supported: CPython 2.7 and 3.6 - 3.12 (built-in tables, x86-64), "
            + "3.13 - 3.15 and free-threaded 3.13t - 3.15t (read from the target's _Py_DebugOffsets; "
            + "a later version only when its table passes every check)";

    private final transient PythonVersion version;

    /**
     * @param version the version that is not supported (may be {@code null} when it could not be read)
     * @param reason  why, in words a person can act on
     */
    public UnsupportedLayoutException(PythonVersion version, String reason) {
        super("CPython " + (version == null ? "(unknown version)" : version) + " is not supported: "
                + Objects.requireNonNull(reason, "reason") + " (" + SUPPORTED + ")");
        this.version = version;
    }

    /** The version that is not supported, or {@code null} when it could not be read. */
    public PythonVersion version() {
        return version;
    }
}
