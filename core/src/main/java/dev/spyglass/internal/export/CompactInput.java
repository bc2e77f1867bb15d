package dev.spyglass.internal.export;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * The compact recording's encodings read back ({@link CompactOutput} writes them), counting the offset. The end
 * of the input inside a value is {@link Cut}; a value the encoding does not allow is {@link Malformed}.
 */
final class CompactInput {

    /** The input ended inside a record. */
    static final class Cut extends Exception {
        Cut() {
            super(null, null, false, false);
        }
    }

    /** Bytes the encoding does not allow; the message says which. */
    static final class Malformed extends Exception {
        Malformed(String message) {
            super(message, null, false, false);
        }
    }

    private final InputStream in;
    private final byte[] buf = new byte[1 << 16];
    private int pos;
    private int end;
    private long offset;
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);

    CompactInput(InputStream in) {
        this.in = in;
    }

    /** The offset of the next byte from the start of the input. */
    long offset() {
        return offset;
    }

    /** The next byte (0..255), or -1 at the end of the input: the one place where the end is no cut. */
    int byteOrEnd() throws IOException {
        if (pos == end && !fill()) {
            return -1;
        }
        offset++;
        return buf[pos++] & 0xff;
    }

    int u8() throws IOException, Cut {
        int b = byteOrEnd();
        if (b < 0) {
            throw new Cut();
        }
        return b;
    }

    long varint() throws IOException, Cut, Malformed {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            int b = u8();
            if (shift == 63 && (b & 0xfe) != 0) {
                throw new Malformed("a number longer than 64 bits");
            }
            v |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                return v;
            }
        }
        throw new Malformed("a number longer than 64 bits");
    }

    long signed() throws IOException, Cut, Malformed {
        long z = varint();
        return (z >>> 1) ^ -(z & 1);
    }

    /** An unsigned number that must be below {@code limit}; {@code what} names it in the message. */
    int below(long limit, String what) throws IOException, Cut, Malformed {
        long v = varint();
        if (v < 0 || v >= limit) {
            throw new Malformed(what + " " + Long.toUnsignedString(v) + " is out of range (below " + limit + ")");
        }
        return (int) v;
    }

    /** A signed number that must fit an {@code int}. */
    int signedInt(String what) throws IOException, Cut, Malformed {
        long v = signed();
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new Malformed(what + " is out of range: " + v);
        }
        return (int) v;
    }

    double float64() throws IOException, Cut {
        long bits = 0;
        for (int i = 0; i < 8; i++) {
            bits |= (long) u8() << (8 * i);
        }
        return Double.longBitsToDouble(bits);
    }

    /** The UTF-8 bytes of a string, at most {@code maxBytes} long (checked before anything is allocated). */
    byte[] stringBytes(int maxBytes) throws IOException, Cut, Malformed {
        int length = below(maxBytes + 1L, "a string's length");
        byte[] b = new byte[length];
        int n = 0;
        while (n < length) {
            if (pos == end && !fill()) {
                throw new Cut();
            }
            int k = Math.min(length - n, end - pos);
            System.arraycopy(buf, pos, b, n, k);
            pos += k;
            n += k;
            offset += k;
        }
        return b;
    }

    String decode(byte[] bytes) throws Malformed {
        try {
            return utf8.decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new Malformed("a string is not UTF-8");
        }
    }

    /** Skips {@code n} bytes. */
    void skip(long n) throws IOException, Cut {
        while (n > 0) {
            if (pos == end && !fill()) {
                throw new Cut();
            }
            int k = (int) Math.min(n, end - pos);
            pos += k;
            offset += k;
            n -= k;
        }
    }

    private boolean fill() throws IOException {
        int n = in.read(buf, 0, buf.length);
        if (n <= 0) {
            // read() returns 0 only for an empty buffer; a stream at its end returns -1.
            return false;
        }
        pos = 0;
        end = n;
        return true;
    }
}
