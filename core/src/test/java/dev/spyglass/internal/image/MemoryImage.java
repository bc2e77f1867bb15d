package dev.spyglass.internal.image;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A sparse copy of a process's memory: byte ranges at their addresses. Overlapping and adjacent ranges
 * are merged on {@link #put}, so the bytes available from an address are always one range: a read
 * crossing out of the image stops where the copy stops, as a read crossing into unmapped memory does.
 * Mutable (tests corrupt or remove parts of a copy); not thread-safe.
 */
public final class MemoryImage {

    /** One contiguous range of the image. */
    public record Range(long address, byte[] bytes) {
        public Range {
            Objects.requireNonNull(bytes, "bytes");
        }

        public long end() {
            return address + bytes.length;
        }
    }

    private final TreeMap<Long, byte[]> ranges = new TreeMap<>();

    /** An independent copy (ranges are copied, not shared). */
    public MemoryImage copy() {
        MemoryImage c = new MemoryImage();
        for (Map.Entry<Long, byte[]> e : ranges.entrySet()) {
            c.ranges.put(e.getKey(), e.getValue().clone());
        }
        return c;
    }

    /** Adds {@code bytes} at {@code address}; where the image already holds bytes, the new ones win. */
    public void put(long address, byte[] bytes) {
        put(address, bytes, 0, bytes.length);
    }

    /** Adds {@code length} bytes of {@code src} from {@code offset}, at {@code address}; new bytes win. */
    public void put(long address, byte[] src, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, src.length);
        put(address, MemorySegment.ofArray(src).asSlice(offset, length));
    }

    /** Adds the bytes of {@code src} at {@code address}; where the image already holds bytes, the new ones win. */
    public void put(long address, MemorySegment src) {
        long length = src.byteSize();
        if (length == 0) {
            return;
        }
        checkAddress(address, length);
        long start = address;
        long end = address + length;
        // Snapshots, not the map's entries: TreeMap reuses an entry object when it removes another.
        List<Range> touched = new ArrayList<>();
        Map.Entry<Long, byte[]> before = ranges.floorEntry(address);
        if (before != null && before.getKey() + before.getValue().length >= address) {
            touched.add(new Range(before.getKey(), before.getValue()));
        }
        // Every range starting inside [address, end] overlaps or is adjacent.
        for (Map.Entry<Long, byte[]> e : ranges.subMap(address, false, end, true).entrySet()) {
            touched.add(new Range(e.getKey(), e.getValue()));
        }
        for (Range r : touched) {
            start = Math.min(start, r.address());
            end = Math.max(end, r.end());
        }
        if (end - start > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("range too large: " + (end - start) + " bytes");
        }
        byte[] merged = new byte[(int) (end - start)];
        for (Range r : touched) {
            System.arraycopy(r.bytes(), 0, merged, (int) (r.address() - start), r.bytes().length);
            ranges.remove(r.address());
        }
        MemorySegment.copy(src, 0, MemorySegment.ofArray(merged), address - start, length);
        ranges.put(start, merged);
    }

    /** Drops the bytes in {@code [address, address + length)}: reads of them then fault. */
    public void remove(long address, long length) {
        if (length <= 0) {
            return;
        }
        checkAddress(address, length);
        long end = address + length;
        Map.Entry<Long, byte[]> before = ranges.floorEntry(address);
        List<Range> touched = new ArrayList<>();
        if (before != null && before.getKey() + before.getValue().length > address) {
            touched.add(new Range(before.getKey(), before.getValue()));
        }
        for (Map.Entry<Long, byte[]> e : ranges.subMap(address, false, end, false).entrySet()) {
            touched.add(new Range(e.getKey(), e.getValue()));
        }
        for (Range r : touched) {
            long s = r.address();
            byte[] b = r.bytes();
            long rangeEnd = r.end();
            ranges.remove(s);
            if (s < address) {
                ranges.put(s, java.util.Arrays.copyOfRange(b, 0, (int) (address - s)));
            }
            if (rangeEnd > end) {
                ranges.put(end, java.util.Arrays.copyOfRange(b, (int) (end - s), b.length));
            }
        }
    }

    /** How many bytes from {@code address} on (at most {@code length}) the image holds without a gap. */
    public long available(long address, long length) {
        if (length <= 0 || address < 0) {
            return 0;
        }
        Map.Entry<Long, byte[]> e = ranges.floorEntry(address);
        if (e == null) {
            return 0;
        }
        long end = e.getKey() + e.getValue().length;
        return end <= address ? 0 : Math.min(length, end - address);
    }

    /** {@code true} when the image holds any byte of {@code [address, address + length)}. */
    public boolean overlaps(long address, long length) {
        Map.Entry<Long, byte[]> before = ranges.floorEntry(address);
        if (before != null && before.getKey() + before.getValue().length > address) {
            return true;
        }
        Long next = ranges.higherKey(address);
        return next != null && next < address + length;
    }

    /** {@code true} when every byte of {@code [address, address + length)} is in the image. */
    public boolean contains(long address, long length) {
        return available(address, length) == length;
    }

    /**
     * Copies the available leading part of {@code [address, address + length)} into {@code dst} at
     * {@code dstOffset} and returns how many bytes that was (0 when {@code address} is not in the image).
     */
    public long copyTo(long address, MemorySegment dst, long dstOffset, long length) {
        long n = available(address, length);
        if (n > 0) {
            Map.Entry<Long, byte[]> e = ranges.floorEntry(address);
            MemorySegment.copy(MemorySegment.ofArray(e.getValue()), address - e.getKey(), dst, dstOffset, n);
        }
        return n;
    }

    /** The little-endian 64-bit word at {@code address}. */
    public long getLong(long address) {
        return word(address, 8).get(ValueLayout.JAVA_LONG_UNALIGNED, 0);
    }

    /** The little-endian 32-bit word at {@code address}. */
    public int getInt(long address) {
        return word(address, 4).get(ValueLayout.JAVA_INT_UNALIGNED, 0);
    }

    /** Overwrites the 64-bit word at {@code address}, which must be in the image. */
    public void putLong(long address, long value) {
        if (!contains(address, 8)) {
            throw new IllegalArgumentException("0x" + Long.toHexString(address) + " is not in the image");
        }
        byte[] b = new byte[8];
        MemorySegment.ofArray(b).set(ValueLayout.JAVA_LONG_UNALIGNED, 0, value);
        put(address, b);
    }

    private MemorySegment word(long address, int size) {
        if (!contains(address, size)) {
            throw new IllegalArgumentException("0x" + Long.toHexString(address) + " is not in the image");
        }
        Map.Entry<Long, byte[]> e = ranges.floorEntry(address);
        return MemorySegment.ofArray(e.getValue()).asSlice(address - e.getKey(), size);
    }

    /** The ranges in address order (sharing this image's arrays: do not modify them). */
    public List<Range> ranges() {
        List<Range> out = new ArrayList<>(ranges.size());
        for (Map.Entry<Long, byte[]> e : ranges.entrySet()) {
            out.add(new Range(e.getKey(), e.getValue()));
        }
        return out;
    }

    public int rangeCount() {
        return ranges.size();
    }

    public long byteCount() {
        long n = 0;
        for (byte[] b : ranges.values()) {
            n += b.length;
        }
        return n;
    }

    private static void checkAddress(long address, long length) {
        // User-space addresses on x86-64 are below 2^47; anything else cannot be a captured byte.
        if (address < 0 || address + length < address) {
            throw new IllegalArgumentException("bad range 0x" + Long.toHexString(address) + " + " + length);
        }
    }

    @Override
    public String toString() {
        return "MemoryImage[" + rangeCount() + " ranges, " + byteCount() + " bytes]";
    }
}
