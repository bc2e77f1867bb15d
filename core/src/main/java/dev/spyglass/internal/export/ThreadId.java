package dev.spyglass.internal.export;

import dev.spyglass.StackSample;

/**
 * One thread for its whole life: process, kernel TID and the TID's start time (the kernel reuses a TID,
 * never the pair). When the TID is unknown, the Python ident stands in ({@code startTime} -1): the best
 * there is, though CPython reuses idents.
 */
record ThreadId(long pid, long tid, long startTime) {

    static ThreadId of(StackSample s) {
        return s.nativeThreadId() >= 0 ? new ThreadId(s.pid(), s.nativeThreadId(), s.threadStartTime())
                : new ThreadId(s.pid(), s.pythonThreadId(), -1);
    }
}
