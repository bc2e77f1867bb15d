package dev.spyglass.internal.os;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Copies of the target's memory made while its threads were held stopped (their stacks, copied for native
 * frames), which serve later reads of the same look instead of the kernel: a read they cover then returns
 * what was there at the held instant, which is what a consistent look needs, even after the threads were let
 * go. 3.11 and 3.12 keep each evaluation loop call's {@code _PyCFrame} on the C stack, and 3.12+ its entry
 * {@code _PyInterpreterFrame}: on a thread inside a callback from C, the walk reads them from these copies.
 * Not thread-safe.
 */
final class HeldCopies {
    /** All of the address space, as a destination for copies into the readers' buffers (never read through). */
    private static final MemorySegment EVERYWHERE = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    private long[] starts = new long[4];
    private MemorySegment[] copies = new MemorySegment[4];
    private int count;

    void add(long address, MemorySegment copy) {
        if (count == starts.length) {
            starts = Arrays.copyOf(starts, count * 2);
            copies = Arrays.copyOf(copies, count * 2);
        }
        starts[count] = address;
        copies[count++] = copy;
    }

    void clear() {
        Arrays.fill(copies, 0, count, null);
        count = 0;
    }

    boolean isEmpty() {
        return count == 0;
    }

    /** The copy holding all of {@code [address, address + length)}, or -1. */
    int covering(long address, long length) {
        for (int i = 0; i < count; i++) {
            long at = address - starts[i];
            if (at >= 0 && length <= copies[i].byteSize() - at) {
                return i;
            }
        }
        return -1;
    }

    /** Copies {@code length} bytes at {@code address} from copy {@code i} to the native address {@code to}. */
    void copy(int i, long address, long to, long length) {
        MemorySegment.copy(copies[i], address - starts[i], EVERYWHERE, to, length);
    }

    /**
     * Serves every one of {@code count} queued ranges (local and remote iovec arrays, 16 bytes an entry)
     * from the copies, or none: {@code false} when one is not covered (the caller then reads them all).
     */
    boolean serve(MemorySegment localIov, MemorySegment remoteIov, int count) {
        for (int k = 0; k < count; k++) {
            if (covering(remoteIov.get(ValueLayout.JAVA_LONG, 16L * k), remoteIov.get(ValueLayout.JAVA_LONG, 16L * k + 8)) < 0) {
                return false;
            }
        }
        for (int k = 0; k < count; k++) {
            long address = remoteIov.get(ValueLayout.JAVA_LONG, 16L * k);
            long length = remoteIov.get(ValueLayout.JAVA_LONG, 16L * k + 8);
            copy(covering(address, length), address, localIov.get(ValueLayout.JAVA_LONG, 16L * k), length);
        }
        return true;
    }
}
