package dev.spyglass;

/** Which threads a {@link Sampler} reports at each tick. */
public enum SamplingMode {
    /**
     * Every thread, running or not: where wall-clock time goes. A sample weighs the time since the
     * same thread's previous sample (its first one interval; at most 10 intervals or 1 s, whichever
     * is larger), so a thread's weights add up to the time it was observed even when the sampler
     * falls behind: see {@link StackSample#weightNanos()}.
     */
    WALL,
    /**
     * Only threads the kernel shows running ({@code R} in {@code /proc/PID/task/TID/stat}) at the
     * tick: where CPU time goes. Each sample weighs one interval, whatever elapsed since the thread's
     * previous sample. {@code R} also covers a thread that is ready but waiting for a CPU, so on an
     * overloaded machine CPU mode counts that wait too (as Austin and py-spy do). Threads whose kernel
     * id is unknown are reported when they hold the GIL.
     *
     * <p>The process CPU clock ({@code clock_getcpuclockid}) is not used to weigh samples: for another
     * process Linux advances it only at scheduler ticks and context switches (4 ms steps measured on
     * this kernel), too coarse for 1 ms samples.
     */
    CPU,
    /**
     * Only the thread holding the GIL at the tick, per interpreter (3.12+ sub-interpreters with their own
     * GIL each have one): where Python code runs, as py-spy's {@code --gil} and CPython 3.15's sampler's
     * {@code --mode gil} show it. A thread in a C call that released the GIL ({@code time.sleep}, a numpy
     * or {@code hashlib} call over a large buffer, blocking I/O) is left out even while it uses a CPU, and
     * so is a thread that waits for a CPU without the GIL. Each sample weighs one interval. Where the
     * holder cannot be read (CPython 2.7, whose GIL is a bare lock, and builds without a GIL), the threads
     * the kernel shows running are reported instead, as in {@link #CPU}.
     */
    GIL
}
