package dev.spyglass.internal.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

import org.junit.jupiter.api.Test;

class MemoryImageTest {

    private static byte[] bytes(int from, int count) {
        byte[] b = new byte[count];
        for (int i = 0; i < count; i++) {
            b[i] = (byte) (from + i);
        }
        return b;
    }

    @Test
    void mergesOverlappingAndAdjacentRangesNewBytesWinning() {
        MemoryImage m = new MemoryImage();
        m.put(0x1000, bytes(0, 16));
        m.put(0x1020, bytes(32, 16));
        assertThat(m.rangeCount()).isEqualTo(2);
        m.put(0x1010, bytes(100, 16)); // fills the gap exactly: adjacent on both sides
        assertThat(m.rangeCount()).isEqualTo(1);
        assertThat(m.available(0x1000, 100)).isEqualTo(48);
        m.put(0x1008, new byte[] {(byte) 0xAA, (byte) 0xBB});
        m.put(0x0ff8, bytes(200, 12)); // overlaps the start
        List<MemoryImage.Range> r = m.ranges();
        assertThat(r).hasSize(1);
        assertThat(r.get(0).address()).isEqualTo(0x0ff8);
        byte[] all = r.get(0).bytes();
        assertThat(all).hasSize(56);
        assertThat(all[0]).isEqualTo((byte) 200);
        assertThat(all[11]).isEqualTo((byte) 211);
        assertThat(all[12]).isEqualTo((byte) 4);
        assertThat(all[16]).isEqualTo((byte) 0xAA);
        assertThat(all[17]).isEqualTo((byte) 0xBB);
        assertThat(all[24]).isEqualTo((byte) 100);
        assertThat(all[55]).isEqualTo((byte) 47);
    }

    @Test
    void oneRangeSwallowsSeveral() {
        MemoryImage m = new MemoryImage();
        for (int i = 0; i < 10; i++) {
            m.put(0x2000 + 32L * i, bytes(i, 8));
        }
        assertThat(m.rangeCount()).isEqualTo(10);
        m.put(0x1ff0, bytes(0, 400));
        assertThat(m.rangeCount()).isEqualTo(1);
        assertThat(m.byteCount()).isEqualTo(400);
    }

    @Test
    void lookupStopsAtTheFirstGap() {
        MemoryImage m = new MemoryImage();
        m.put(0x1000, bytes(0, 16));
        m.put(0x1011, bytes(0, 16));
        assertThat(m.available(0x1000, 64)).isEqualTo(16);
        assertThat(m.available(0x100c, 2)).isEqualTo(2);
        assertThat(m.available(0x1010, 1)).isZero();
        assertThat(m.available(0x0fff, 8)).isZero();
        assertThat(m.contains(0x1011, 16)).isTrue();
        assertThat(m.contains(0x1011, 17)).isFalse();
        assertThat(m.overlaps(0x0f00, 0x101)).isTrue();
        assertThat(m.overlaps(0x0f00, 0x100)).isFalse();
        MemorySegment dst = MemorySegment.ofArray(new byte[32]);
        assertThat(m.copyTo(0x1008, dst, 4, 32)).isEqualTo(8);
        assertThat(dst.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)[4]).isEqualTo((byte) 8);
    }

    @Test
    void removeSplitsRanges() {
        MemoryImage m = new MemoryImage();
        m.put(0x1000, bytes(0, 64));
        m.remove(0x1010, 16);
        assertThat(m.rangeCount()).isEqualTo(2);
        assertThat(m.available(0x1000, 64)).isEqualTo(16);
        assertThat(m.available(0x1020, 64)).isEqualTo(32);
        assertThat(m.getLong(0x1020) & 0xff).isEqualTo(32);
        m.remove(0x0f00, 0x200);
        assertThat(m.rangeCount()).isZero();
    }

    @Test
    void wordsAreLittleEndianAndCopiesIndependent() {
        MemoryImage m = new MemoryImage();
        m.put(0x1000, new byte[16]);
        MemoryImage c = m.copy();
        c.putLong(0x1004, 0x1122334455667788L);
        assertThat(c.getInt(0x1004)).isEqualTo(0x55667788);
        assertThat(m.getLong(0x1004)).isZero();
        assertThatThrownBy(() -> c.putLong(0x100c, 1)).isInstanceOf(IllegalArgumentException.class);
    }

    private static CapturedImage sample() {
        MemoryImage m = new MemoryImage();
        m.put(0x7f00_0000_1000L, bytes(1, 300));
        m.put(0x4000, bytes(9, 3));
        CapturedImage.ThreadLook t = new CapturedImage.ThreadLook(140_000_000_000L, 4242, 0, false,
                List.of("naïve_ß (/tmp/tëst.py:7)", "<module> (/tmp/x.py:1)"));
        return new CapturedImage("pyenv-3.13.0", 4242, "3.13.0t", "Py_Version", "/lib/libpython3.13t.so", 0x7f00_0000_0000L,
                0x7f00_0000_1000L, 0x7f00_0000_1100L, "_PyRuntime symbol", 0, 0x7f00_0000_2000L,
                Map.of("script truth", "x".repeat(100_000)),
                List.of(new CapturedImage.Look(7, List.of(t)), new CapturedImage.Look(1, List.of(t))), m);
    }

    @Test
    void fileRoundTrips() throws IOException {
        CapturedImage img = sample();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        img.write(out);
        CapturedImage back = CapturedImage.read(new ByteArrayInputStream(out.toByteArray()));
        assertThat(back.label()).isEqualTo(img.label());
        assertThat(back.version()).isEqualTo("3.13.0t");
        assertThat(back.codeTypeAddress()).isEqualTo(img.codeTypeAddress());
        assertThat(back.looks()).isEqualTo(img.looks());
        assertThat(back.notes()).isEqualTo(img.notes());
        assertThat(back.memory().rangeCount()).isEqualTo(2);
        assertThat(back.memory().ranges().get(1).bytes()).isEqualTo(bytes(1, 300));
        // gzip: the 100,000-character note costs little.
        assertThat(out.size()).isLessThan(2000);
    }

    @Test
    void refusesOtherFilesAndOtherFormatVersions() throws IOException {
        assertThatThrownBy(() -> CapturedImage.read(new ByteArrayInputStream(gzip("NOTANIMG".getBytes()))))
                .isInstanceOf(IOException.class).hasMessageContaining("not a Spyglass memory image");
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (DataOutputStream d = new DataOutputStream(b)) {
            d.write(CapturedImage.MAGIC);
            d.writeInt(CapturedImage.FORMAT_VERSION + 1);
        }
        assertThatThrownBy(() -> CapturedImage.read(new ByteArrayInputStream(gzip(b.toByteArray()))))
                .isInstanceOf(IOException.class).hasMessageContaining("format 2 is not supported");
        ByteArrayOutputStream whole = new ByteArrayOutputStream();
        sample().write(whole);
        byte[] raw = gunzip(whole.toByteArray());
        byte[] cut = Arrays.copyOf(raw, raw.length - 100);
        assertThatThrownBy(() -> CapturedImage.read(new ByteArrayInputStream(gzip(cut))))
                .isInstanceOf(IOException.class);
    }

    private static byte[] gzip(byte[] raw) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(raw);
        }
        return out.toByteArray();
    }

    private static byte[] gunzip(byte[] gz) throws IOException {
        try (java.util.zip.GZIPInputStream in = new java.util.zip.GZIPInputStream(new ByteArrayInputStream(gz))) {
            return in.readAllBytes();
        }
    }
}
