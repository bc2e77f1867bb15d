package dev.spyglass;

/**
 * The entry into, or the return from, a probed C function on one thread of the target, as
 * {@link FunctionProbes#poll} delivers it.
 *
 * @param kind          entry or exit
 * @param tid           the thread (its kernel TID)
 * @param timeNanos     when the probe fired, on {@code CLOCK_MONOTONIC} (the clock of {@link System#nanoTime()} on
 *                      Linux)
 * @param function      the index of the function in the list given to {@link FunctionProbes#attach}
 * @param symbol        its name ({@code libfoo.so+0x1234} for an address in no symbol)
 * @param depth         how many probed calls of this thread were open around it (0: outermost); an exit has the
 *                      depth of its entry
 * @param durationNanos for an exit, the time since its entry; -1 for an entry, or an exit whose entry was not seen
 *                      (the call began before the probes, or the kernel dropped the entry record)
 * @param python        for a call of a Python function object (probed with {@code pythonCalls}, see
 *                      {@link FunctionProbes#attach(long, java.util.List, boolean)}): that function, its qualified
 *                      name, {@code co_filename} and first line ({@code co_firstlineno}); its {@code symbol} is then
 *                      {@code qualname (file:line)}. A function object freed before the record was read (a lambda
 *                      made for the call) shows as a frame with an empty file. Null for a C function.
 */
public record CallEvent(Kind kind, int tid, long timeNanos, int function, String symbol, int depth,
        long durationNanos, Frame python) {

    /** An event of a C function ({@code python} null). */
    public CallEvent(Kind kind, int tid, long timeNanos, int function, String symbol, int depth, long durationNanos) {
        this(kind, tid, timeNanos, function, symbol, depth, durationNanos, null);
    }

    /** Which probe fired. */
    public enum Kind {
        /** The function's first instruction ran (a uprobe). */
        ENTRY,
        /** The function returned (a uretprobe). */
        EXIT,
        /**
         * The call's probes were closed ({@link FunctionProbes#drop}) before its return was seen: no exit will come
         * (its time: when the probes were gone; duration -1).
         */
        ABANDONED
    }
}
