package dev.spyglass.internal.os;

/**
 * A remote read could not be completed: the address is not mapped (any more) or only part of the
 * range was readable. While sampling a running target this means a torn sample, not a failure of
 * the session. Thrown without a stack trace: it is expected on the hot path.
 */
public final class MemoryFault extends Exception {
    private static final long serialVersionUID = 1L;

    private final long address;
    private final long requested;
    private final long transferred;

    public MemoryFault(long address, long requested, long transferred) {
        super(null, null, false, false);
        this.address = address;
        this.requested = requested;
        this.transferred = transferred;
    }

    public long address() {
        return address;
    }

    public long requested() {
        return requested;
    }

    public long transferred() {
        return transferred;
    }

    @Override
    public String getMessage() {
        return "cannot read " + requested + " bytes at 0x" + Long.toHexString(address) + " (got " + transferred + ")";
    }
}
