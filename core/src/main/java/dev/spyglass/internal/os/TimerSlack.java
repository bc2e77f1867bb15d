package dev.spyglass.internal.os;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * The calling thread's timer slack ({@code prctl(PR_SET_TIMERSLACK)}, Linux 2.6.28+), through an FFM downcall.
 * The kernel may defer a thread's timed wake-up by up to its slack to batch timers; a JVM thread inherits
 * 50 µs, which at a 100 µs tick is half the interval. The slack is per thread: set it on the thread that waits.
 */
@SuppressWarnings("restricted") // native access is the point of this class; callers enable it
public final class TimerSlack {
    private static final int PR_SET_TIMERSLACK = 29;
    private static final int PR_GET_TIMERSLACK = 30;

    /** prctl(int option, ...): variadic after the option, so the call says where the variadic part starts. */
    private static final MethodHandle PRCTL = link();

    private TimerSlack() {
    }

    private static MethodHandle link() {
        try {
            Linker linker = Linker.nativeLinker();
            return linker.defaultLookup().find("prctl").map(f -> linker.downcallHandle(f,
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG),
                    Linker.Option.firstVariadicArg(1))).orElse(null);
        } catch (RuntimeException | LinkageError e) {
            // No native linker for this platform, or native access refused: callers fall back to spinning.
            return null;
        }
    }

    /** {@code true} when the downcall is linked (Linux with native access); else {@link #set} always fails. */
    public static boolean available() {
        return PRCTL != null;
    }

    /**
     * Sets the calling thread's timer slack to {@code nanos} (at least 1: 0 would mean "back to the default").
     *
     * @return {@code true} when the kernel took it
     */
    public static boolean set(long nanos) {
        if (nanos < 1) {
            throw new IllegalArgumentException("timer slack must be at least 1 ns (got " + nanos + ")");
        }
        if (PRCTL == null) {
            return false;
        }
        try {
            return (int) PRCTL.invokeExact(PR_SET_TIMERSLACK, nanos) == 0;
        } catch (Throwable e) {
            return false;
        }
    }

    /** The calling thread's timer slack in nanoseconds, empty when it cannot be read. */
    public static Optional<Long> current() {
        if (PRCTL == null) {
            return Optional.empty();
        }
        try {
            int slack = (int) PRCTL.invokeExact(PR_GET_TIMERSLACK, 0L);
            return slack < 0 ? Optional.empty() : Optional.of((long) slack);
        } catch (Throwable e) {
            return Optional.empty();
        }
    }
}
