package dev.spyglass.internal.python;

import java.util.List;

import dev.spyglass.Frame;
import dev.spyglass.SpyglassException;
import dev.spyglass.cpython.abi.MalformedObjectException;
import dev.spyglass.internal.os.MemoryFault;

/**
 * A coroutine's await chain before 3.14: {@link FrameObjectChains} (3.8 – 3.10, heap frames) or
 * {@link CoroutineChains} (3.11 – 3.13, frames inline in the coroutine).
 */
interface AwaitChains {
    /** The frames of the coroutine at {@code coro} and of those it awaits, innermost first; null when torn. */
    List<Frame> read(long coro) throws MemoryFault, MalformedObjectException, SpyglassException;

    /** Why the latest {@link #read} returned null. */
    String tornReason();
}
