package dev.spyglass.internal.session;

import dev.spyglass.SamplingMode;
import dev.spyglass.SpyglassException;

/**
 * One source of events a session drives, like an async-profiler engine: today the Python stacks of
 * one process ({@link PythonStackSource}); native and kernel stacks, allocations and process events
 * later. The session calls {@link #poll} at every tick from its one sampling thread, so a source
 * needs no locking of its own.
 */
public interface EventSource {

    /**
     * Reads what the source has at this tick and adds its events to {@code out}.
     *
     * @param timestampNanos the tick's time, nanoseconds since the Unix epoch: every event of the tick
     *                       carries it
     * @param mode           which threads the session asks for (a source that has no notion of threads
     *                       ignores it)
     * @throws dev.spyglass.ProcessGoneException the source's process has exited: the session ends
     * @throws SpyglassException                 a failure the source cannot recover from: the session
     *                                           ends with it as its failure
     */
    void poll(long timestampNanos, SamplingMode mode, EventBuffer out) throws SpyglassException;

    /** Releases what the source holds (buffers, descriptors). Called once, after the last poll. */
    void close();
}
