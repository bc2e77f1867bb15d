package dev.spyglass.export;

import java.io.IOException;

/**
 * A file {@link RecordingReader} cannot read as a recording: not JSON lines, a line longer than
 * {@link RecordingReader#MAX_LINE_BYTES}, not UTF-8, or a record missing a field or holding a value of the
 * wrong type. The message names the line, and the field or column, e.g.
 * {@code line 12: "ts" is not an integer}. A recording merely cut short (its last line incomplete) is no
 * error: see {@link RecordingReader#truncated()}.
 */
public final class RecordingFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    private final long line;

    /**
     * @param line    the 1-based line number where reading stopped
     * @param message what is wrong with it
     */
    public RecordingFormatException(long line, String message) {
        super("line " + line + ": " + message);
        this.line = line;
    }

    /** The 1-based number of the line that could not be read. */
    public long line() {
        return line;
    }
}
