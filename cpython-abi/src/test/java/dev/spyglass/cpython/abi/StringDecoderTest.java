package dev.spyglass.cpython.abi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

/**
 * Synthetic objects: the free-threaded 3.14 {@code state} layout (no such interpreter on this machine;
 * offsets from Include/cpython/unicodeobject.h v3.14.0 with a 32-byte free-threaded PyObject header),
 * and headers no CPython can produce.
 */
class StringDecoderTest {

    private static final ValueLayout.OfLong WORD = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;

    /** 3.12+ default build: 16-byte PyObject, PyASCIIObject 40, PyCompactUnicodeObject 56. */
    static Layout layout312(PythonVersion v) {
        return Layout.builder(v, "test 3.12").set(Field.VAROBJECT_SIZE, 16).set(Field.BYTES_DATA, 32)
                .set(Field.UNICODE_LENGTH, 16).set(Field.UNICODE_STATE, 32).set(Field.UNICODE_ASCII_DATA, 40)
                .set(Field.UNICODE_COMPACT_DATA, 56).set(Field.UNICODE_DATA_PTR, 56).build();
    }

    /** 3.3 – 3.11: PyASCIIObject 48 (with wstr), PyCompactUnicodeObject 72. */
    static Layout layout311(PythonVersion v) {
        return Layout.builder(v, "test 3.11").set(Field.VAROBJECT_SIZE, 16).set(Field.BYTES_DATA, 32)
                .set(Field.UNICODE_LENGTH, 16).set(Field.UNICODE_STATE, 32).set(Field.UNICODE_ASCII_DATA, 48)
                .set(Field.UNICODE_COMPACT_DATA, 72).set(Field.UNICODE_DATA_PTR, 72).build();
    }

    /** 3.14t: PyObject is 32 bytes (ob_tid, flags, mutex, gc bits, ob_ref_local, ob_ref_shared, ob_type). */
    static Layout layout314t() {
        PythonVersion v = new PythonVersion(3, 14, 0, PythonVersion.ReleaseLevel.FINAL, 0, true);
        return Layout.builder(v, "test 3.14t").set(Field.VAROBJECT_SIZE, 32).set(Field.BYTES_DATA, 48)
                .set(Field.UNICODE_LENGTH, 32).set(Field.UNICODE_STATE, 48).set(Field.UNICODE_ASCII_DATA, 56)
                .set(Field.UNICODE_COMPACT_DATA, 72).set(Field.UNICODE_DATA_PTR, 72).build();
    }

    static Layout layout27() {
        return Layout.builder(PythonVersion.of(2, 7, 18), "test 2.7").set(Field.VAROBJECT_SIZE, 16)
                .set(Field.BYTES_DATA, 36).set(Field.UNICODE27_LENGTH, 16).set(Field.UNICODE27_STR, 24).build();
    }

    private static MemorySegment object(Layout l, long length, int state, byte[] inline, long inlineAt) {
        MemorySegment m = MemorySegment.ofArray(new byte[256]);
        m.set(WORD, l.offset(Field.UNICODE_LENGTH), length);
        m.set(INT, l.offset(Field.UNICODE_STATE), state);
        MemorySegment.copy(MemorySegment.ofArray(inline), 0, m, inlineAt, inline.length);
        return m;
    }

    @Test
    void freeThreaded314KeepsInternedInAByte() throws MalformedObjectException {
        Layout l = layout314t();
        StringDecoder d = new StringDecoder(l, 100);
        // interned = 3 (immortal static) in byte 0; kind 1 at bit 8; compact bit 11; ascii bit 12; static bit 13.
        int state = 3 | 1 << 8 | 1 << 11 | 1 << 12 | 1 << 13;
        MemorySegment m = object(l, 2, state, "hi".getBytes(StandardCharsets.US_ASCII), 56);
        StringHeader h = d.header(m);
        assertThat(h).isEqualTo(new StringHeader(StringKind.ASCII, true, 2, 56, 0, 2, false));
        assertThat(d.decodeFromPrefix(h, m)).isEqualTo("hi");

        // UCS2 compact: kind 2 at bit 8, compact, not ascii.
        MemorySegment u = object(l, 2, 2 << 8 | 1 << 11, "\u51fd\u6570".getBytes(StandardCharsets.UTF_16LE), 72);
        assertThat(d.decodeFromPrefix(d.header(u), u)).isEqualTo("\u51fd\u6570");

        // An interned byte of 4 is impossible.
        assertThatThrownBy(() -> d.header(object(l, 2, 4 | 1 << 8 | 1 << 11 | 1 << 12, new byte[2], 56)))
                .isInstanceOf(MalformedObjectException.class).hasMessageContaining("interned");
        // The same state word read with the 3.13t (default bit-field) layout has kind 0: rejected.
        PythonVersion v313t = new PythonVersion(3, 13, 0, PythonVersion.ReleaseLevel.FINAL, 0, true);
        Layout l313t = l.toBuilder(v313t, "test 3.13t").build();
        assertThatThrownBy(() -> new StringDecoder(l313t, 100).header(m)).isInstanceOf(MalformedObjectException.class);
    }

    @Test
    void stateBitsPerVersion() throws MalformedObjectException {
        // 3.12+: bit 7 is statically_allocated, no ready bit; interned 3 is valid.
        Layout l12 = layout312(PythonVersion.of(3, 12, 1));
        int state12 = 3 | 1 << 2 | 1 << 5 | 1 << 6 | 1 << 7;
        assertThat(new StringDecoder(l12, 10).header(object(l12, 1, state12, new byte[] {'a'}, 40)).kind())
                .isEqualTo(StringKind.ASCII);
        // 3.3 – 3.11: interned 3 does not exist, and compact requires ready (bit 7).
        Layout l11 = layout311(PythonVersion.of(3, 11, 7));
        StringDecoder d11 = new StringDecoder(l11, 10);
        assertThatThrownBy(() -> d11.header(object(l11, 1, 3 | 1 << 2 | 1 << 5 | 1 << 6 | 1 << 7, new byte[] {'a'}, 48)))
                .isInstanceOf(MalformedObjectException.class).hasMessageContaining("interned state 3");
        assertThatThrownBy(() -> d11.header(object(l11, 1, 1 << 2 | 1 << 5 | 1 << 6, new byte[] {'a'}, 48)))
                .isInstanceOf(MalformedObjectException.class).hasMessageContaining("ready");
        assertThat(d11.header(object(l11, 1, 1 << 2 | 1 << 5 | 1 << 6 | 1 << 7, new byte[] {'a'}, 48)).inlineOffset())
                .isEqualTo(48);
    }

    @Test
    void rejectsImpossibleHeaders() {
        Layout l = layout312(PythonVersion.of(3, 13, 0));
        StringDecoder d = new StringDecoder(l, 10);
        int compactAscii = 1 << 2 | 1 << 5 | 1 << 6;
        assertThatThrownBy(() -> d.header(object(l, 1, 3 << 2 | 1 << 5, new byte[4], 56)))
                .isInstanceOf(MalformedObjectException.class).hasMessageContaining("kind 3");
        assertThatThrownBy(() -> d.header(object(l, 1, 2 << 2 | 1 << 5 | 1 << 6, new byte[4], 56)))
                .isInstanceOf(MalformedObjectException.class).hasMessageContaining("ascii flag with kind 2");
        assertThatThrownBy(() -> d.header(object(l, 0, 0, new byte[0], 40)))
                .isInstanceOf(MalformedObjectException.class).hasMessageContaining("kind 0");
        assertThatThrownBy(() -> d.header(object(l, -1, compactAscii, new byte[0], 40)))
                .isInstanceOf(MalformedObjectException.class).hasMessageContaining("negative");
        assertThatThrownBy(() -> d.header(object(l, 1L << 50, compactAscii, new byte[0], 40)))
                .isInstanceOf(MalformedObjectException.class).hasMessageContaining("address space");
        // Non-compact with a null, a misaligned and a kernel data pointer.
        for (long ptr : new long[] {0, 0x7f00_0000_0002L, 0xffff_8000_0000_0000L}) {
            MemorySegment m = object(l, 1, 4 << 2, new byte[0], 40);
            m.set(WORD, 56, ptr);
            assertThatThrownBy(() -> d.header(m)).isInstanceOf(MalformedObjectException.class)
                    .hasMessageContaining("pointer");
        }
        assertThatThrownBy(() -> d.header(MemorySegment.ofArray(new byte[40])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("64");
    }

    @Test
    void rejectsImpossibleCharacters() throws MalformedObjectException {
        Layout l = layout312(PythonVersion.of(3, 12, 1));
        StringDecoder d = new StringDecoder(l, 10);
        MemorySegment ascii = object(l, 2, 1 << 2 | 1 << 5 | 1 << 6, new byte[] {'a', (byte) 0xe9}, 40);
        assertThatThrownBy(() -> d.decodeFromPrefix(d.header(ascii), ascii))
                .isInstanceOf(MalformedObjectException.class).hasMessageContaining("0xe9");
        MemorySegment ucs4 = object(l, 1, 4 << 2 | 1 << 5, new byte[] {0, 0, 0x11, 0}, 56);
        assertThatThrownBy(() -> d.decodeFromPrefix(d.header(ucs4), ucs4))
                .isInstanceOf(MalformedObjectException.class).hasMessageContaining("110000");
    }

    @Test
    void capsWithoutAllocatingTheClaimedLength() throws MalformedObjectException {
        Layout l = layout312(PythonVersion.of(3, 12, 1));
        StringDecoder d = new StringDecoder(l, 3);
        // Claims 2^40 UCS4 characters: the header asks for 3 of them only.
        MemorySegment m = object(l, 1L << 40, 4 << 2 | 1 << 5, "abcd".repeat(4).getBytes(StandardCharsets.UTF_32LE), 56);
        StringHeader h = d.header(m);
        assertThat(h.byteCount()).isEqualTo(12);
        assertThat(h.truncated()).isTrue();
        assertThat(d.decodeFromPrefix(h, m)).isEqualTo("abc" + StringDecoder.TRUNCATION_MARK);
        assertThatThrownBy(() -> d.decode(h, MemorySegment.ofArray(new byte[11])))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void python27StrAndUnicode() throws MalformedObjectException {
        StringDecoder d = new StringDecoder(layout27(), 100);
        MemorySegment s = MemorySegment.ofArray(new byte[64]);
        s.set(WORD, 16, 4);
        s.set(INT, 32, 1); // SSTATE_INTERNED_MORTAL
        MemorySegment.copy(MemorySegment.ofArray("na\u00efve".getBytes(StandardCharsets.UTF_8)), 0, s, 36, 6);
        s.set(WORD, 16, 6);
        StringHeader h = d.header(s);
        assertThat(h.kind()).isEqualTo(StringKind.BYTES);
        assertThat(d.decodeFromPrefix(h, s)).isEqualTo("na\u00efve");
        s.set(INT, 32, 7);
        assertThatThrownBy(() -> d.header(s)).isInstanceOf(MalformedObjectException.class).hasMessageContaining("ob_sstate 7");

        MemorySegment u = MemorySegment.ofArray(new byte[48]);
        u.set(WORD, 16, 2);
        u.set(WORD, 24, 0x7f12_3456_7000L);
        StringHeader uh = new StringDecoder(layout27(), 100, 2).unicode27Header(u);
        assertThat(uh).isEqualTo(new StringHeader(StringKind.UCS2, false, 2, -1, 0x7f12_3456_7000L, 4, false));
        assertThat(new StringDecoder(layout27(), 100, 2).decode(uh,
                MemorySegment.ofArray("\ud835\udd18".getBytes(StandardCharsets.UTF_16LE)))).isEqualTo("\ud835\udd18");
        assertThatThrownBy(() -> new StringDecoder(layout312(PythonVersion.of(3, 12, 0)), 5).unicode27Header(u))
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void bytesObjects() throws MalformedObjectException {
        Layout l = layout312(PythonVersion.of(3, 12, 1));
        StringDecoder d = new StringDecoder(l, 10);
        MemorySegment b = MemorySegment.ofArray(new byte[64]);
        b.set(WORD, 16, 5);
        b.asSlice(32, 5).copyFrom(MemorySegment.ofArray(new byte[] {1, 2, 3, (byte) 0xff, 0}));
        StringHeader h = d.bytesHeader(b, 1000);
        assertThat(d.bytesContent(h, b.asSlice(h.inlineOffset()))).containsExactly(1, 2, 3, 0xff, 0);
        assertThat(d.bytesHeader(b, 2).truncated()).isTrue();
        b.set(WORD, 16, -5);
        assertThatThrownBy(() -> d.bytesHeader(b, 1000)).isInstanceOf(MalformedObjectException.class);
    }

    @Test
    void constructorChecks() {
        assertThatThrownBy(() -> new StringDecoder(layout312(PythonVersion.of(3, 12, 0)), 0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new StringDecoder(layout312(PythonVersion.of(3, 2, 0)), 5))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("PEP 393");
        Layout missing = Layout.builder(PythonVersion.of(3, 12, 0), "partial").set(Field.VAROBJECT_SIZE, 16)
                .set(Field.BYTES_DATA, 32).build();
        assertThatThrownBy(() -> new StringDecoder(missing, 5)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("UNICODE_LENGTH");
        assertThat(new StringDecoder(layout311(PythonVersion.of(3, 11, 0)), 5).prefixSize()).isEqualTo(80);
        assertThat(new StringDecoder(layout312(PythonVersion.of(3, 12, 0)), 5).prefixSize()).isEqualTo(64);
    }
}
