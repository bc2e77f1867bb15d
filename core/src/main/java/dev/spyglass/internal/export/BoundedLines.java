package dev.spyglass.internal.export;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The lines of a UTF-8 text stream, each at most {@code maxBytes} long: a longer one (a binary file, or text
 * that is no recording) is an error after reading {@code maxBytes} of it, never a buffer that grows with the
 * input. Remembers whether the last line ended with a line break, which tells a recording cut mid-record.
 */
public final class BoundedLines {

    /** A line that is too long or not UTF-8. */
    public static final class BadLine extends Exception {
        BadLine(String message) {
            super(message);
        }
    }

    /** One line without its line break; {@code terminated} is false for a last line the stream cut. */
    public record Line(String text, boolean terminated, long number) {
    }

    private final InputStream in;
    private final int maxBytes;
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    private final byte[] chunk = new byte[1 << 16];
    private int chunkPos;
    private int chunkEnd;
    private byte[] line = new byte[1 << 12];
    private long number;
    private boolean eof;

    public BoundedLines(InputStream in, int maxBytes) {
        this.in = in;
        this.maxBytes = maxBytes;
    }

    /** How many lines were returned. */
    public long lineNumber() {
        return number;
    }

    /** The next line, or null at the end of the stream. */
    public Line next() throws IOException, BadLine {
        int length = 0;
        while (true) {
            if (chunkPos == chunkEnd) {
                if (eof || !fill()) {
                    if (length == 0) {
                        return null;
                    }
                    return new Line(decode(length, false), false, ++number);
                }
            }
            int start = chunkPos;
            int nl = -1;
            for (int k = chunkPos; k < chunkEnd; k++) {
                if (chunk[k] == '\n') {
                    nl = k;
                    break;
                }
            }
            int end = nl >= 0 ? nl : chunkEnd;
            int n = end - start;
            if ((long) length + n > maxBytes) {
                throw new BadLine("longer than " + (maxBytes >> 20) + " MiB");
            }
            if (length + n > line.length) {
                line = Arrays.copyOf(line, Math.min(maxBytes, Math.max(line.length * 2, length + n)));
            }
            System.arraycopy(chunk, start, line, length, n);
            length += n;
            chunkPos = nl >= 0 ? nl + 1 : chunkEnd;
            if (nl >= 0) {
                int textLength = length > 0 && line[length - 1] == '\r' ? length - 1 : length;
                return new Line(decode(textLength, true), true, ++number);
            }
        }
    }

    private boolean fill() throws IOException {
        int n = in.read(chunk);
        if (n <= 0) {
            eof = true;
            return false;
        }
        chunkPos = 0;
        chunkEnd = n;
        return true;
    }

    private String decode(int length, boolean terminated) throws BadLine {
        // A cut last line may end inside a character's bytes: those are dropped (the line is incomplete anyway).
        for (int drop = 0; drop <= (terminated ? 0 : Math.min(3, length)); drop++) {
            try {
                return utf8.decode(ByteBuffer.wrap(line, 0, length - drop)).toString();
            } catch (CharacterCodingException e) {
                // try without the last byte(s)
            }
        }
        throw new BadLine("not UTF-8 text");
    }
}
