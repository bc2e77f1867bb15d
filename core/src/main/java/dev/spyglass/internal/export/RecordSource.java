package dev.spyglass.internal.export;

import java.io.IOException;

import dev.spyglass.export.RecordingFormatException;

/**
 * The records of a recording in the order written, whatever its encoding: the lines of a jsonl file
 * ({@link JsonLinesSource}) or the records of a compact one ({@link CompactRecordSource}). What the records
 * must be in relation to each other (one header, first; nothing after the end) is the reader's to check.
 */
public interface RecordSource {

    /**
     * The next header, sample, end or unknown record, or {@code null} after the last.
     *
     * @throws RecordingFormatException when a record is damaged or no record of the format
     */
    JsonLinesRecords.Record next() throws IOException;

    /** Whether the input ended inside a record (it was cut short); known once {@link #next()} gave null. */
    boolean truncated();

    /** An error about the record {@link #next()} returned last, naming where it is. */
    RecordingFormatException error(String message);
}
