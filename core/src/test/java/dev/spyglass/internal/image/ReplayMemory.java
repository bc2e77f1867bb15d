package dev.spyglass.internal.image;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

import dev.spyglass.internal.os.MemoryFault;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * Serves reads from a {@link MemoryImage} as if it were a process: a byte outside the image behaves
 * like unmapped memory. {@link #read} then throws {@link MemoryFault}, {@link #readPartial} returns the
 * bytes available before the gap, and {@link #flush} returns how many leading ranges were complete
 * (later ranges are not read), as {@code process_vm_readv(2)} does. Every read or non-empty flush
 * counts as one {@link #syscalls() system call}, so tests can compare read counts with a live capture.
 */
public final class ReplayMemory implements RemoteMemory {
    private final MemoryImage image;
    private final long pid;
    private final long[] address = new long[MAX_IOV];
    private final MemorySegment[] buffer = new MemorySegment[MAX_IOV];
    private final long[] offset = new long[MAX_IOV];
    private final long[] length = new long[MAX_IOV];
    private int pending;
    private long syscalls;
    private boolean closed;

    public ReplayMemory(long pid, MemoryImage image) {
        this.pid = pid;
        this.image = Objects.requireNonNull(image, "image");
    }

    @Override
    public long pid() {
        return pid;
    }

    @Override
    public boolean usesProcMem() {
        return false;
    }

    @Override
    public long syscalls() {
        return syscalls;
    }

    @Override
    public void read(long at, MemorySegment dst) throws MemoryFault {
        long len = dst.byteSize();
        if (len == 0) {
            return;
        }
        long n = readPartial(at, dst);
        if (n != len) {
            throw new MemoryFault(at, len, n);
        }
    }

    @Override
    public long readPartial(long at, MemorySegment dst) {
        checkOpen();
        syscalls++;
        return image.copyTo(at, dst, 0, dst.byteSize());
    }

    @Override
    public long readLong(long at) throws MemoryFault {
        checkOpen();
        syscalls++;
        if (!image.contains(at, 8)) {
            throw new MemoryFault(at, 8, image.available(at, 8));
        }
        return image.getLong(at);
    }

    @Override
    public int readInt(long at) throws MemoryFault {
        checkOpen();
        syscalls++;
        if (!image.contains(at, 4)) {
            throw new MemoryFault(at, 4, image.available(at, 4));
        }
        return image.getInt(at);
    }

    @Override
    public int add(long at, MemorySegment dst) {
        return add(at, dst, 0, dst.byteSize());
    }

    @Override
    public int add(long at, MemorySegment dst, long dstOffset, long len) {
        if (pending == MAX_IOV) {
            throw new IllegalStateException("more than " + MAX_IOV + " ranges in one batch");
        }
        Objects.checkFromIndexSize(dstOffset, len, dst.byteSize());
        address[pending] = at;
        buffer[pending] = dst;
        offset[pending] = dstOffset;
        length[pending] = len;
        return pending++;
    }

    @Override
    public int pending() {
        return pending;
    }

    @Override
    public int flush() {
        int count = pending;
        pending = 0;
        if (count == 0) {
            return 0;
        }
        checkOpen();
        syscalls++;
        for (int i = 0; i < count; i++) {
            MemorySegment dst = buffer[i];
            buffer[i] = null;
            if (image.copyTo(address[i], dst, offset[i], length[i]) != length[i]) {
                java.util.Arrays.fill(buffer, i, count, null);
                return i;
            }
        }
        return count;
    }

    @Override
    public void clear() {
        java.util.Arrays.fill(buffer, 0, pending, null);
        pending = 0;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("replayed memory of process " + pid + " is closed");
        }
    }

    @Override
    public void close() {
        closed = true;
    }
}
