package dev.spyglass.internal.os;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * CPU time used so far by every thread of this JVM process: {@code clock_gettime(CLOCK_PROCESS_CPUTIME_ID)}
 * through an FFM downcall. Nanosecond-exact (the scheduler's own run-time sums, where {@code /proc/self/stat}
 * counts 10 ms clock ticks), and one system call that does not open a file. One instance per thread: it keeps its
 * own {@code timespec}.
 */
@SuppressWarnings("restricted") // native access is the point of this class; callers enable it
public final class ProcessCpuClock {
    private static final int CLOCK_PROCESS_CPUTIME_ID = 2;
    private static final MethodHandle CLOCK_GETTIME = link();

    private final MemorySegment timespec = Arena.ofAuto().allocate(16, 8);

    private ProcessCpuClock() {
    }

    private static MethodHandle link() {
        try {
            Linker linker = Linker.nativeLinker();
            return linker.defaultLookup().find("clock_gettime").map(f -> linker.downcallHandle(f,
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS))).orElse(null);
        } catch (RuntimeException | LinkageError e) {
            return null; // no native linker, or native access refused: no clock, so no CPU cap
        }
    }

    /** A clock for the calling thread, or {@code null} where the downcall cannot be linked or fails. */
    public static ProcessCpuClock open() {
        if (CLOCK_GETTIME == null) {
            return null;
        }
        ProcessCpuClock clock = new ProcessCpuClock();
        return clock.nanos() < 0 ? null : clock;
    }

    /** The process's CPU time (user + system, all threads) in nanoseconds, or -1 when the call fails. */
    public long nanos() {
        try {
            if ((int) CLOCK_GETTIME.invokeExact(CLOCK_PROCESS_CPUTIME_ID, timespec) != 0) {
                return -1;
            }
        } catch (Throwable e) {
            return -1;
        }
        return timespec.get(ValueLayout.JAVA_LONG, 0) * 1_000_000_000L + timespec.get(ValueLayout.JAVA_LONG, 8);
    }
}
