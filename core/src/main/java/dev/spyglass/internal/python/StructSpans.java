package dev.spyglass.internal.python;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * The byte ranges of a struct that hold the fields the reader needs, merged into as few ranges as
 * possible (fields closer than {@value #MERGE_GAP} bytes share one range), and where each field lands
 * in a local buffer. Reading a struct is then one {@code process_vm_readv} with one iovec per range.
 */
final class StructSpans {
    static final int MERGE_GAP = 256;

    private final long[] rangeOffset;
    private final int[] rangeLength;
    private final int[] rangeBufferPos;
    private final int[] fieldPos;
    private final int bufferSize;

    private StructSpans(long[] rangeOffset, int[] rangeLength, int[] rangeBufferPos, int[] fieldPos, int bufferSize) {
        this.rangeOffset = rangeOffset;
        this.rangeLength = rangeLength;
        this.rangeBufferPos = rangeBufferPos;
        this.fieldPos = fieldPos;
        this.bufferSize = bufferSize;
    }

    /** Width in bytes read for a field. */
    static int width(Field f) {
        return switch (f) {
            case FRAME_LASTI, FRAME_LINENO, CODE_FIRSTLINENO, CODE_ARGCOUNT, CODE_FLAGS, GIL_LOCKED, RUNTIME_GIL_LOCKED,
                    IFRAME_STACKTOP, UNICODE_STATE, IFRAME_TLBC_INDEX -> 4;
            case IFRAME_OWNER, IFRAME_IS_ENTRY -> 1;
            default -> 8;
        };
    }

    /** Spans for the {@code fields} the layout has (absent ones are left out). */
    static StructSpans of(Layout layout, Field... fields) {
        List<Field> present = new ArrayList<>();
        for (Field f : fields) {
            if (layout.has(f)) {
                present.add(f);
            }
        }
        present.sort((a, b) -> Long.compare(layout.offset(a), layout.offset(b)));
        List<long[]> ranges = new ArrayList<>();
        for (Field f : present) {
            long off = layout.offset(f);
            long end = off + width(f);
            long[] last = ranges.isEmpty() ? null : ranges.get(ranges.size() - 1);
            if (last != null && off - last[1] <= MERGE_GAP) {
                last[1] = Math.max(last[1], end);
            } else {
                ranges.add(new long[] {off, end});
            }
        }
        long[] ro = new long[ranges.size()];
        int[] rl = new int[ranges.size()];
        int[] rp = new int[ranges.size()];
        int pos = 0;
        for (int i = 0; i < ranges.size(); i++) {
            ro[i] = ranges.get(i)[0];
            rl[i] = (int) (ranges.get(i)[1] - ranges.get(i)[0]);
            rp[i] = pos;
            pos += (rl[i] + 7) & ~7;
        }
        int[] fp = new int[Field.values().length];
        Arrays.fill(fp, -1);
        for (Field f : present) {
            long off = layout.offset(f);
            for (int i = 0; i < ro.length; i++) {
                if (off >= ro[i] && off + width(f) <= ro[i] + rl[i]) {
                    fp[f.ordinal()] = (int) (rp[i] + off - ro[i]);
                    break;
                }
            }
        }
        return new StructSpans(ro, rl, rp, fp, Math.max(pos, 8));
    }

    int bufferSize() {
        return bufferSize;
    }

    int ranges() {
        return rangeOffset.length;
    }

    /** The single range's struct offset and length (for reading from a local copy of the struct). */
    long firstOffset() {
        return rangeOffset.length == 0 ? 0 : rangeOffset[0];
    }

    /** One past the last byte needed, relative to the struct start. */
    long extent() {
        return rangeOffset.length == 0 ? 0 : rangeOffset[rangeOffset.length - 1] + rangeLength[rangeLength.length - 1];
    }

    /** Queues the struct at {@code base} into {@code buffer} (at least {@link #bufferSize()} bytes). */
    void queue(RemoteMemory memory, long base, MemorySegment buffer) {
        queue(memory, base, buffer, 0);
    }

    /** Queues the struct at {@code base} into {@code buffer} starting at {@code at}. */
    void queue(RemoteMemory memory, long base, MemorySegment buffer, long at) {
        for (int i = 0; i < rangeOffset.length; i++) {
            memory.add(base + rangeOffset[i], buffer, at + rangePos(i), rangeLength[i]);
        }
    }

    private int rangePos(int i) {
        return rangeBufferPos[i];
    }

    boolean has(Field f) {
        return fieldPos[f.ordinal()] >= 0;
    }

    long getLong(MemorySegment buffer, Field f) {
        return getLong(buffer, 0, f);
    }

    int getInt(MemorySegment buffer, Field f) {
        return getInt(buffer, 0, f);
    }

    long getLong(MemorySegment buffer, long at, Field f) {
        int p = fieldPos[f.ordinal()];
        return p < 0 ? 0 : buffer.get(ValueLayout.JAVA_LONG_UNALIGNED, at + p);
    }

    int getInt(MemorySegment buffer, long at, Field f) {
        int p = fieldPos[f.ordinal()];
        return p < 0 ? 0 : buffer.get(ValueLayout.JAVA_INT_UNALIGNED, at + p);
    }

    int getByte(MemorySegment buffer, Field f) {
        int p = fieldPos[f.ordinal()];
        return p < 0 ? 0 : buffer.get(ValueLayout.JAVA_BYTE, p) & 0xff;
    }
}
