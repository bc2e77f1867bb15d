package dev.spyglass.internal.image;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

import dev.spyglass.SpyglassException;
import dev.spyglass.internal.os.MemoryFault;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * Passes every call to another {@link RemoteMemory}: a test overrides the calls it watches or changes (a flush's
 * ranges, a hook around the next flush) and leaves the rest to this class. {@link #close()} leaves the other open.
 */
public abstract class ForwardingMemory implements RemoteMemory {
    protected final RemoteMemory delegate;

    protected ForwardingMemory(RemoteMemory delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
    }

    @Override
    public long pid() {
        return delegate.pid();
    }

    @Override
    public boolean usesProcMem() {
        return delegate.usesProcMem();
    }

    @Override
    public long syscalls() {
        return delegate.syscalls();
    }

    @Override
    public void read(long address, MemorySegment dst) throws MemoryFault, SpyglassException {
        delegate.read(address, dst);
    }

    @Override
    public long readPartial(long address, MemorySegment dst) throws SpyglassException {
        return delegate.readPartial(address, dst);
    }

    @Override
    public long readLong(long address) throws MemoryFault, SpyglassException {
        return delegate.readLong(address);
    }

    @Override
    public int readInt(long address) throws MemoryFault, SpyglassException {
        return delegate.readInt(address);
    }

    @Override
    public int add(long address, MemorySegment dst) {
        return delegate.add(address, dst);
    }

    @Override
    public int add(long address, MemorySegment buffer, long offset, long length) {
        return delegate.add(address, buffer, offset, length);
    }

    @Override
    public int pending() {
        return delegate.pending();
    }

    @Override
    public int flush() throws SpyglassException {
        return delegate.flush();
    }

    @Override
    public void clear() {
        delegate.clear();
    }

    @Override
    public void close() {
    }
}
