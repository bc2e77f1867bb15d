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

    /**
     * Removes probe {@code k} alone, on every thread (and on threads followed later): its events are closed on
     * closing threads, after which its breakpoint no longer traps (unless another probe shares it); its records
     * written until then are still drained. Probe 0 cannot be closed alone: its event owns the rings the others
     * write into.
     * Not waited for: the close of a probe's event can take until the calls under its return probes end (on Linux
     * 6.18 a close of a function called ~7,000 times a second inside the trigger returned only when the trigger
     * did, 60 s later; TraceCliIT), and until then the breakpoint still traps.
     */
    void closeProbe(int k);

    /** Records the kernel dropped because a ring was full. */
    long lostRecords();

    /** True for the per-CPU route: threads need not be tracked, none is missed. */
    boolean perCpu();

    /**
     * Removes every probe (closes the events: the kernel removes the breakpoints with the last descriptor), and waits
     * up to a second until the breakpoints are out of the target (a process this JVM is starting meanwhile holds the
     * descriptors until its exec: {@code BreakpointsOut}).
     */
    @Override
    void close();
}
