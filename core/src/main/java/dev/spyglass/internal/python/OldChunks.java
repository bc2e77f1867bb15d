package dev.spyglass.internal.python;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import dev.spyglass.SpyglassException;
import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.internal.os.MemoryFault;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * The older data-stack chunks of the thread being walked (3.11+: a deep stack spans several chunks,
 * 16 KiB and growing, linked by {@code _PyStackChunk.previous}): each is copied, up to its
 * {@code top}, in one read when the walk first reaches it, or taken from the read-ahead.
 */
final class OldChunks {
    private final RemoteMemory memory;
    private final ReadAheadChunks ahead;
    private final Arena arena;
    private final long previousOff;
    private final long dataOff;
    private final long topOff;
    private final long sizeOff;
    private final long[] addr;
    private final long[] len;
    private final MemorySegment[] buf;
    /** Buffers owned here (the read-ahead's are borrowed), reused from walk to walk. */
    private final MemorySegment[] ownBuf;
    private int count;
    private long next;
    private int slot;
    private long found;

    OldChunks(Layout layout, RemoteMemory memory, ReadAheadChunks ahead, Arena arena, int max) {
        this.memory = memory;
        this.ahead = ahead;
        this.arena = arena;
        this.previousOff = layout.offset(Field.CHUNK_PREVIOUS);
        this.dataOff = layout.require(Field.CHUNK_DATA);
        this.topOff = layout.require(Field.CHUNK_TOP);
        this.sizeOff = layout.require(Field.CHUNK_SIZE);
        this.addr = new long[max];
        this.len = new long[max];
        this.buf = new MemorySegment[max];
        this.ownBuf = new MemorySegment[max];
    }

    /** Starts a walk whose newest chunk links to {@code previous} (0: none), for thread {@code slot}. */
    void begin(long previous, int threadSlot) {
        count = 0;
        next = previous;
        slot = threadSlot;
    }

    /**
     * The copy of the older chunk holding {@code [frame, frame + extent)}, loading chunks along the
     * {@code previous} chain until one does; null when none does (a generator's frame, or the 3.12+
     * entry frame on the C stack). The chunk's address is then {@link #foundAddress()}.
     */
    MemorySegment find(long frame, long extent) throws SpyglassException {
        for (int i = 0; i < count; i++) {
            if (holds(i, frame, extent)) {
                return buf[i];
            }
        }
        while (next != 0 && count < addr.length) {
            int i = load(next);
            if (i < 0) {
                next = 0;
                return null;
            }
            next = buf[i].get(ValueLayout.JAVA_LONG_UNALIGNED, previousOff);
            if (holds(i, frame, extent)) {
                return buf[i];
            }
        }
        return null;
    }

    long foundAddress() {
        return found;
    }

    private boolean holds(int i, long frame, long extent) {
        long rel = frame - addr[i];
        if (rel >= 0 && rel + extent <= len[i]) {
            found = addr[i];
            return true;
        }
        return false;
    }

    /** Copies the used part of the chunk at {@code address}; its index, or -1 when it is unreadable. */
    private int load(long address) throws SpyglassException {
        int i = count;
        MemorySegment b = null;
        long used = -1;
        int k = ahead.find(slot, address);
        if (k >= 0 && ahead.length(k) > dataOff) {
            long u = dataOff + 8 * ahead.buffer(k).get(ValueLayout.JAVA_LONG_UNALIGNED, topOff);
            if (u > dataOff && u <= ahead.length(k)) {
                b = ahead.buffer(k);
                used = u;
            }
        }
        if (b == null) {
            if (ownBuf[i] == null) {
                ownBuf[i] = arena.allocate(ReadAhead.MIN_CHUNK, 16);
            }
            b = ownBuf[i];
            long got = memory.readPartial(address, b.asSlice(0, ReadAhead.MIN_CHUNK));
            if (got < dataOff) {
                return -1;
            }
            long size = b.get(ValueLayout.JAVA_LONG_UNALIGNED, sizeOff);
            used = dataOff + 8 * b.get(ValueLayout.JAVA_LONG_UNALIGNED, topOff);
            if (size < dataOff || size > ChunkFrameWalker.MAX_CHUNK_BYTES || used <= dataOff || used > size) {
                return -1;
            }
            if (used > got) {
                if (b.byteSize() < used) {
                    ownBuf[i] = arena.allocate(used, 16);
                    b = ownBuf[i];
                }
                try {
                    memory.read(address, b.asSlice(0, used));
                } catch (MemoryFault f) {
                    return -1;
                }
            }
        }
        addr[i] = address;
        len[i] = used;
        buf[i] = b;
        count++;
        ahead.note(slot, address, used);
        return i;
    }
}
