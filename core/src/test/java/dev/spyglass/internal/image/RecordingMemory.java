package dev.spyglass.internal.image;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

import dev.spyglass.SpyglassException;
import dev.spyglass.internal.os.MemoryFault;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * Wraps a live {@link RemoteMemory}, passes every call through, and keeps a copy of the bytes each
 * successful read returned: the whole range of a {@link #read}, the bytes a {@link #readPartial}
 * obtained, the ranges a {@link #flush} counted as done (not the failed one or those after it). The
 * copy is a {@link MemoryImage} that {@link ReplayMemory} serves later. While {@link #recording} is
 * off, reads pass through unrecorded (the locator's ELF-driven reads need not be in an image).
 */
public final class RecordingMemory implements RemoteMemory {
    private final RemoteMemory live;
    private final MemoryImage image = new MemoryImage();
    private final long[] address = new long[MAX_IOV];
    private final MemorySegment[] buffer = new MemorySegment[MAX_IOV];
    private final long[] offset = new long[MAX_IOV];
    private final long[] length = new long[MAX_IOV];
    private int queued;
    private boolean recording = true;
    private long recordedReads;

    public RecordingMemory(RemoteMemory live) {
        this.live = Objects.requireNonNull(live, "live");
    }

    /** The bytes recorded so far (live: later reads add to it). */
    public MemoryImage image() {
        return image;
    }

    /** Turns recording on or off; calls pass through either way. */
    public void recording(boolean on) {
        recording = on;
    }

    /** Reads whose bytes were recorded (a flush counts once per completed range). */
    public long recordedReads() {
        return recordedReads;
    }

    private void keep(long at, MemorySegment src, long srcOffset, long len) {
        if (recording && len > 0) {
            image.put(at, src.asSlice(srcOffset, len));
            recordedReads++;
        }
    }

    @Override
    public long pid() {
        return live.pid();
    }

    @Override
    public boolean usesProcMem() {
        return live.usesProcMem();
    }

    @Override
    public long syscalls() {
        return live.syscalls();
    }

    @Override
    public void read(long at, MemorySegment dst) throws MemoryFault, SpyglassException {
        live.read(at, dst);
        keep(at, dst, 0, dst.byteSize());
    }

    @Override
    public long readPartial(long at, MemorySegment dst) throws SpyglassException {
        long n = live.readPartial(at, dst);
        keep(at, dst, 0, n);
        return n;
    }

    @Override
    public long readLong(long at) throws MemoryFault, SpyglassException {
        long v = live.readLong(at);
        if (recording) {
            byte[] b = new byte[8];
            MemorySegment.ofArray(b).set(ValueLayout.JAVA_LONG_UNALIGNED, 0, v);
            keep(at, MemorySegment.ofArray(b), 0, 8);
        }
        return v;
    }

    @Override
    public int readInt(long at) throws MemoryFault, SpyglassException {
        int v = live.readInt(at);
        if (recording) {
            byte[] b = new byte[4];
            MemorySegment.ofArray(b).set(ValueLayout.JAVA_INT_UNALIGNED, 0, v);
            keep(at, MemorySegment.ofArray(b), 0, 4);
        }
        return v;
    }

    @Override
    public int add(long at, MemorySegment dst) {
        return add(at, dst, 0, dst.byteSize());
    }

    @Override
    public int add(long at, MemorySegment dst, long dstOffset, long len) {
        int index = live.add(at, dst, dstOffset, len);
        address[queued] = at;
        buffer[queued] = dst;
        offset[queued] = dstOffset;
        length[queued] = len;
        queued++;
        return index;
    }

    @Override
    public int pending() {
        return live.pending();
    }

    @Override
    public int flush() throws SpyglassException {
        int count = queued;
        queued = 0;
        try {
            int done = live.flush();
            for (int i = 0; i < done && i < count; i++) {
                keep(address[i], buffer[i], offset[i], length[i]);
            }
            return done;
        } finally {
            java.util.Arrays.fill(buffer, 0, count, null);
        }
    }

    @Override
    public void clear() {
        live.clear();
        java.util.Arrays.fill(buffer, 0, queued, null);
        queued = 0;
    }

    @Override
    public void close() {
        live.close();
    }
}
