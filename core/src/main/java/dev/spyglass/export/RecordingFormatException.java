package dev.spyglass.export;

import java.io.IOException;

/**
 * A file {@link RecordingReader} cannot read as a recording. For a jsonl recording: not JSON lines, a line longer
 * than {@link RecordingReader#MAX_LINE_BYTES}, not UTF-8, or a record missing a field or holding a value of the
 * wrong type; the message names the line, and the field or column, e.g. {@code line 12: "ts" is not an integer}.
 * For a compact ({@code sgr}) recording: a record that breaks the format (an unknown tag, a number naming no
 * table entry, a table past its bound); the message names the record's byte offset, e.g.
 * {@code byte 4711: a sample names stack 12, but 3 are defined}. A recording merely cut short (its last record
 * incomplete) is no error: see {@link RecordingReader#truncated()}.
 */
public final class RecordingFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    private final long line;
    private final long byteOffset;

    /**
     * @param line    the 1-based line number where reading stopped
     * @param message what is wrong with it
     */
    public RecordingFormatException(long line, String message) {
        this("line " + line + ": " + message, line, -1);
    }

    private RecordingFormatException(String message, long line, long byteOffset) {
        super(message);
        this.line = line;
        this.byteOffset = byteOffset;
    }

    /**
     * An error in a binary recording.
     *
     * @param byteOffset the 0-based offset of the record that could not be read
     * @param message    what is wrong with it
     */
    public static RecordingFormatException atByte(long byteOffset, String message) {
        return new RecordingFormatException("byte " + byteOffset + ": " + message, -1, byteOffset);
    }

    /** The 1-based number of the line that could not be read; -1 for a binary recording. */
    public long line() {
        return line;
    }

    /** The 0-based byte offset of the record that could not be read in a binary recording; -1 for a jsonl one. */
    public long byteOffset() {
        return byteOffset;
    }
}
