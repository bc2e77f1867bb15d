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
    GIL,
    /**
     * Where resident memory (RSS) grows and shrinks, as Austin's {@code -m}: at each tick the process's
     * resident size is read ({@code /proc/PID/statm}) and its change since the previous reading becomes one
     * sample of the thread holding the GIL (where the holder cannot be read, CPython 2.7 and builds without a
     * GIL, the first thread the kernel shows running). Its {@link StackSample#weightNanos() weight} is then a
     * number of bytes, never negative: a growth is a sample of the holder's stack; a release a sample whose
     * outermost frame is {@link Frame#MEMORY_RELEASED}, above the holder's stack, so that exporters keep the two
     * views apart. A tick without change gives no sample; a tick where no thread holds the GIL takes no reading,
     * its change goes to the next holder. The weights of a session add up (growth minus release) to the change
     * of RSS between its first and last readings.
     *
     * <p>Limits: RSS is one figure for the whole process, so memory a C library or another thread allocated
     * lands on whichever thread holds the GIL at the next tick; the kernel counts whole pages (4 KiB), and an
     * allocation that reuses memory already resident shows nothing; memory freed but kept by the allocator
     * (pymalloc's arenas still partly used, glibc's heap below its top) shows no release; the kernel's
     * per-CPU counters may lag a reading by up to 64 pages per CPU.
     */
    MEMORY
}
