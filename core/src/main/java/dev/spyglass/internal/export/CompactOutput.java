package dev.spyglass.internal.export;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Arrays;

/**
 * The compact recording's encodings over a buffer that goes to the stream when 64 KiB are full: unsigned
 * LEB128 varints (seven bits a byte, low first, the high bit saying another byte follows), zig-zag signed ones
 * and length-prefixed UTF-8 strings.
 */
final class CompactOutput {
    private final OutputStream out;
    private byte[] buf = new byte[1 << 16];
    private int pos;

    CompactOutput(OutputStream out) {
        this.out = out;
    }

    void bytes(byte[] b) {
        room(b.length);
        System.arraycopy(b, 0, buf, pos, b.length);
        pos += b.length;
    }

    void tag(int tag) {
        room(1);
        buf[pos++] = (byte) tag;
    }

    void varint(long v) {
        room(10);
        while ((v & ~0x7fL) != 0) {
            buf[pos++] = (byte) ((v & 0x7f) | 0x80);
            v >>>= 7;
        }
        buf[pos++] = (byte) v;
    }

    /** A signed value, zig-zag so that small negatives (-1 for "unknown") take one byte too. */
    void signed(long v) {
        varint((v << 1) ^ (v >> 63));
    }

    void string(byte[] utf8) {
        varint(utf8.length);
        bytes(utf8);
    }

    void string(String s) {
        string(CompactFormat.utf8(s));
    }

    /** A double as its 8 IEEE 754 bytes, little-endian (NaN, an unknown rate, included). */
    void float64(double d) {
        long bits = Double.doubleToRawLongBits(d);
        room(8);
        for (int i = 0; i < 8; i++) {
            buf[pos++] = (byte) (bits >>> (8 * i));
        }
    }

    /** Sends what is buffered once 64 KiB are; a sample is encoded whole before, so writes come in big pieces. */
    void drainIfFull() throws IOException {
        if (pos >= 1 << 16) {
            flush();
        }
    }

    void flush() throws IOException {
        out.write(buf, 0, pos);
        pos = 0;
    }

    private void room(int n) {
        if (pos + n > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, pos + n));
        }
    }
}
