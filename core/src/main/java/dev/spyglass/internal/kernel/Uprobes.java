package dev.spyglass.internal.kernel;

import dev.spyglass.SpyglassException;

/**
 * Entry and return probes placed in one target process, by one of two routes: {@link PerCpuUprobes} (one event
 * per probe and CPU, every thread of the target from its first instruction; needs the right to open CPU-wide
 * events) or {@link UprobeSet} (one event per probe and thread, opened when the thread is listed: the fallback).
 * What {@code FunctionProbes} reads the hits of, whichever route was open to it.
 */
public sealed interface Uprobes extends AutoCloseable permits PerCpuUprobes, UprobeSet {

    /**
     * Follows exactly {@code tids[0..count)}, the target's threads as just listed: the per-thread route opens
     * probes on new threads and closes those of threads gone; the per-CPU route has nothing to do.
     */
    void track(int[] tids, int count) throws SpyglassException;

    /** Gives every record of the target written since the last drain to {@code visitor}, each thread's in order. */
    void drain(UprobeSet.Visitor visitor);

    /** Records the kernel dropped because a ring was full. */
    long lostRecords();

    /** True for the per-CPU route: threads need not be tracked, none is missed. */
    boolean perCpu();

    /** Removes every probe (closes the events: the kernel removes the breakpoints with the last descriptor). */
    @Override
    void close();
}
