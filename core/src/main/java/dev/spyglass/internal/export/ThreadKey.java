package dev.spyglass.internal.export;

import dev.spyglass.StackSample;

/** Identifies a thread across samples: process, kernel (or else Python) thread id, and name. */
record ThreadKey(long pid, long tid, String name) {

    static ThreadKey of(StackSample s) {
        return new ThreadKey(s.pid(), s.nativeThreadId() >= 0 ? s.nativeThreadId() : s.pythonThreadId(),
                s.threadName());
    }

    /** {@code thread 1240 (MainThread)}. */
    String label() {
        return "thread " + Long.toUnsignedString(tid) + " (" + name + ")";
    }

    String processLabel() {
        return "process " + pid;
    }
}
