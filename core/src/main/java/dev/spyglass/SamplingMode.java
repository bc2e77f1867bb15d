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
     * (pymalloc's arenas still partly used, glibc's heap below its top) shows no release; since Linux 6.2 the
     * kernel sums its per-CPU counters lazily, so a reading may lag by a few hundred KiB.
     */
    MEMORY,
    /**
     * Where resident memory grows, with merged Python and native stacks, without stopping the target: the
     * kernel takes a snapshot of a thread's user registers and stack at every 64th page fault it takes
     * ({@code perf_event_open}, the software {@code page-faults} event: a first touch of fresh memory, a file
     * page mapped in, a copy on write), and each snapshot becomes one sample weighing 64 pages
     * ({@link StackSample#weightNanos()} is then 262,144 bytes), its native frames spliced with the Python
     * frames read at the tick (see docs/memory.md for when they are left under
     * {@link Frame#NATIVE_FRAMES_UNKNOWN}). Native frames are always merged in this mode; the sampler's native
     * and kernel frame options do not apply. Releases are not seen (freeing memory takes no fault).
     *
     * <p>Needs perf events with kernel sampling ({@code kernel.perf_event_paranoid} ≤ 1, {@code CAP_PERFMON}
     * or root): a sampler in this mode refuses to attach without them, saying so
     * ({@link AccessDeniedException}). Snapshots the kernel drops because a thread faults faster than the
     * sampler drains them are not counted in the weights, so figures are "at least".
     */
    PAGE_FAULTS
}
