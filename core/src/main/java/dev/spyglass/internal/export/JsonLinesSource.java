package dev.spyglass.internal.export;

import java.io.IOException;
import java.io.InputStream;

import dev.spyglass.export.RecordingFormatException;

/** The records of a jsonl recording, a line each; blank lines are skipped, a cut last line ends the input. */
public final class JsonLinesSource implements RecordSource {
    private final BoundedLines lines;
    private final JsonLinesRecords records = new JsonLinesRecords();
    private long lineNumber;
    private boolean truncated;
    private boolean atEnd;

    /** @param maxLineBytes the longest line read into memory; a longer one is an error */
    public JsonLinesSource(InputStream in, int maxLineBytes) {
        this.lines = new BoundedLines(in, maxLineBytes);
    }

    @Override
    public JsonLinesRecords.Record next() throws IOException {
        while (!atEnd) {
            BoundedLines.Line line;
            try {
                line = lines.next();
            } catch (BoundedLines.BadLine e) {
                throw new RecordingFormatException(lines.lineNumber() + 1, e.getMessage());
            }
            if (line == null) {
                atEnd = true;
                break;
            }
            if (line.text().isBlank()) {
                continue;
            }
            lineNumber = line.number();
            try {
                return records.parse(line.text());
            } catch (JsonLinesRecords.BadRecord e) {
                if (e.cut && !line.terminated()) {
                    truncated = true;
                    atEnd = true;
                    break;
                }
                throw new RecordingFormatException(line.number(), e.getMessage());
            }
        }
        return null;
    }

    @Override
    public boolean truncated() {
        return truncated;
    }

    @Override
    public RecordingFormatException error(String message) {
        return new RecordingFormatException(lineNumber, message);
    }
}
