package dev.spyglass.internal.export;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** A growable protobuf wire-format buffer: varints, length-delimited fields, nested messages. */
final class ProtoBuffer {
    private static final int VARINT = 0;
    private static final int FIXED64 = 1;
    private static final int LENGTH_DELIMITED = 2;

    private byte[] bytes = new byte[256];
    private int size;

    int size() {
        return size;
    }

    void reset() {
        size = 0;
    }

    private void ensure(int more) {
        if (size + more > bytes.length) {
            bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + more));
        }
    }

    void rawVarint(long v) {
        ensure(10);
        while ((v & ~0x7FL) != 0) {
            bytes[size++] = (byte) ((v & 0x7F) | 0x80);
            v >>>= 7;
        }
        bytes[size++] = (byte) v;
    }

    private void tag(int field, int wireType) {
        rawVarint((long) field << 3 | wireType);
    }

    /** An int64/uint64 field; proto3 leaves zero values out. */
    void int64(int field, long v) {
        if (v != 0) {
            tag(field, VARINT);
            rawVarint(v);
        }
    }

    /** A fixed64 field (OTLP's timestamps); proto3 leaves zero out. */
    void fixed64(int field, long v) {
        if (v != 0) {
            tag(field, FIXED64);
            rawFixed64(v);
        }
    }

    /** A double field, written even when zero (an attribute value of 0.0 is a value). */
    void float64(int field, double v) {
        tag(field, FIXED64);
        rawFixed64(Double.doubleToRawLongBits(v));
    }

    private void rawFixed64(long v) {
        ensure(8);
        for (int i = 0; i < 8; i++) {
            bytes[size++] = (byte) (v >>> (8 * i));
        }
    }

    /** A bytes field; nothing when empty. */
    void bytes(int field, byte[] value) {
        if (value.length == 0) {
            return;
        }
        tag(field, LENGTH_DELIMITED);
        rawVarint(value.length);
        ensure(value.length);
        System.arraycopy(value, 0, bytes, size, value.length);
        size += value.length;
    }

    /** A packed repeated fixed64 field; nothing when empty. */
    void packedFixed64(int field, long[] values, int count) {
        if (count == 0) {
            return;
        }
        tag(field, LENGTH_DELIMITED);
        rawVarint(8L * count);
        for (int i = 0; i < count; i++) {
            rawFixed64(values[i]);
        }
    }

    /** The encoded bytes. */
    byte[] toByteArray() {
        return Arrays.copyOf(bytes, size);
    }

    /** An int64 field written even when zero (a member of a oneof, where zero is a value). */
    void int64Always(int field, long v) {
        tag(field, VARINT);
        rawVarint(v);
    }

    /** Appends another buffer's encoded fields as they are. */
    void append(ProtoBuffer other) {
        ensure(other.size);
        System.arraycopy(other.bytes, 0, bytes, size, other.size);
        size += other.size;
    }

    void bool(int field, boolean v) {
        int64(field, v ? 1 : 0);
    }

    /** A string field, written even when empty (string_table[0] must be present). */
    void string(int field, String s) {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        tag(field, LENGTH_DELIMITED);
        rawVarint(utf8.length);
        ensure(utf8.length);
        System.arraycopy(utf8, 0, bytes, size, utf8.length);
        size += utf8.length;
    }

    void message(int field, ProtoBuffer nested) {
        tag(field, LENGTH_DELIMITED);
        rawVarint(nested.size);
        ensure(nested.size);
        System.arraycopy(nested.bytes, 0, bytes, size, nested.size);
        size += nested.size;
    }

    /** A packed repeated varint field; nothing when empty. */
    void packed(int field, long[] values, int count) {
        if (count == 0) {
            return;
        }
        int length = 0;
        for (int i = 0; i < count; i++) {
            length += varintSize(values[i]);
        }
        tag(field, LENGTH_DELIMITED);
        rawVarint(length);
        for (int i = 0; i < count; i++) {
            rawVarint(values[i]);
        }
    }

    private static int varintSize(long v) {
        int n = 1;
        while ((v & ~0x7FL) != 0) {
            v >>>= 7;
            n++;
        }
        return n;
    }

    void writeTo(OutputStream out) throws IOException {
        out.write(bytes, 0, size);
    }
}
