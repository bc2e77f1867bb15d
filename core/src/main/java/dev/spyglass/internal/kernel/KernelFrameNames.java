package dev.spyglass.internal.kernel;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

import dev.spyglass.Frame;
import dev.spyglass.internal.os.LongMap;

/**
 * One {@link Frame} per kernel symbol, so that a steady sampler allocates no frames for kernel stacks
 * (a few dozen functions recur: the system call entry, {@code vfs_read}, the scheduler). Looked up by
 * the symbol's bytes without making a string; bounded, past which new symbols get fresh frames. Used
 * from the sampling thread only.
 */
final class KernelFrameNames {
    /** Distinct kernel symbols kept; the kernel has ~120,000, a sampled program meets a few hundred. */
    static final int MAX_NAMES = 8192;

    /** Hash of a name's bytes to the frames with that hash (a collision chains through {@link Entry#next}). */
    private final LongMap<Entry> byHash = new LongMap<>(1024);
    private final Map<String, Frame> byName = new HashMap<>();
    private int count;

    private static final class Entry {
        final byte[] name;
        final Frame frame;
        final Entry next;

        Entry(byte[] name, Frame frame, Entry next) {
            this.name = name;
            this.frame = frame;
            this.next = next;
        }
    }

    /** The frame of the symbol in {@code bytes[start, start + length)} (ASCII, as the kernel writes it). */
    Frame frame(byte[] bytes, int start, int length) {
        long h = 1125899906842597L;
        for (int i = start; i < start + length; i++) {
            h = 31 * h + bytes[i];
        }
        Entry first = byHash.get(h);
        for (Entry e = first; e != null; e = e.next) {
            if (java.util.Arrays.equals(e.name, 0, e.name.length, bytes, start, start + length)) {
                return e.frame;
            }
        }
        Frame f = frame(new String(bytes, start, length, StandardCharsets.US_ASCII));
        if (count < MAX_NAMES) {
            byHash.put(h, new Entry(java.util.Arrays.copyOfRange(bytes, start, start + length), f, first));
        }
        return f;
    }

    /** The frame of {@code symbol}. */
    Frame frame(String symbol) {
        Frame f = byName.get(symbol);
        if (f == null) {
            f = Frame.kernelFrame(symbol);
            if (count < MAX_NAMES) {
                byName.put(symbol, f);
                count++;
            }
        }
        return f;
    }
}
