// Pacing alone (issue 16): one thread keeps ticks INTERVAL_US apart for SECONDS with no work per tick, and
// prints ticks/s, mean lateness and that thread's CPU. METHOD: spin (park, then spin the last part: the
// fallback), park (parkNanos to the deadline), sleep (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)).
// SLACK: the thread's timer slack in ns (prctl PR_SET_TIMERSLACK), default left as inherited (50 us).
// Also prints where a CLOCK_MONOTONIC read falls between two System.nanoTime() calls (same clock: "a .. b", both >= 0).
// Usage: java --enable-native-access=ALL-UNNAMED scripts/figures/pacing/PaceBench.java METHOD INTERVAL_US SECONDS [SLACK]
import java.lang.foreign.*;
import java.lang.invoke.MethodHandle;
import java.lang.management.*;
import java.util.concurrent.locks.LockSupport;

public class PaceBench {
    static final Linker L = Linker.nativeLinker();
    static final MethodHandle PRCTL = L.downcallHandle(L.defaultLookup().find("prctl").orElseThrow(),
        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG), Linker.Option.firstVariadicArg(1));
    static final MethodHandle SLEEP = L.downcallHandle(L.defaultLookup().find("clock_nanosleep").orElseThrow(),
        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
    static final MethodHandle CLOCK = L.downcallHandle(L.defaultLookup().find("clock_gettime").orElseThrow(),
        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));

    public static void main(String[] a) throws Throwable {
        String method = a[0]; long interval = Long.parseLong(a[1]) * 1000; long seconds = Long.parseLong(a[2]);
        long slack = a.length > 3 ? Long.parseLong(a[3]) : -1;
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        Thread t = new Thread(() -> {
            try {
                MemorySegment ts = Arena.ofConfined().allocate(16, 8);
                if (slack >= 0) System.out.println("set slack rc=" + (int) PRCTL.invokeExact(29, slack));
                System.out.println("slack now " + (int) PRCTL.invokeExact(30, 0L));
                int w = (int) CLOCK.invokeExact(1, ts); // linking happens at the first call: keep it out of the bracket
                long n0 = System.nanoTime(); int r = (int) CLOCK.invokeExact(1, ts); long n1 = System.nanoTime();
                long mono = ts.get(ValueLayout.JAVA_LONG, 0) * 1_000_000_000L + ts.get(ValueLayout.JAVA_LONG, 8);
                System.out.println("nanoTime vs CLOCK_MONOTONIC: " + (mono - n0) + " .. " + (n1 - mono));
                long cpu0 = mx.getCurrentThreadCpuTime();
                long start = System.nanoTime(), end = start + seconds * 1_000_000_000L, deadline = start, ticks = 0, late = 0;
                while (true) {
                    long rem = deadline - System.nanoTime();
                    if (method.equals("park")) {
                        while (rem > 0) { LockSupport.parkNanos(rem); rem = deadline - System.nanoTime(); }
                    } else if (method.equals("sleep")) {
                        ts.set(ValueLayout.JAVA_LONG, 0, deadline / 1_000_000_000L); ts.set(ValueLayout.JAVA_LONG, 8, deadline % 1_000_000_000L);
                        while (System.nanoTime() - deadline < 0) { int rc = (int) SLEEP.invokeExact(1, 1, ts, MemorySegment.NULL); }
                    } else { // spin (today)
                        long spin = interval <= 200_000 ? interval : Math.min(80_000, interval / 4);
                        while (rem > spin) { LockSupport.parkNanos(rem - spin); rem = deadline - System.nanoTime(); }
                        while (System.nanoTime() - deadline < 0) Thread.onSpinWait();
                    }
                    long now = System.nanoTime();
                    if (now - end >= 0) break;
                    late += now - deadline; ticks++;
                    long next = deadline + interval;
                    if (System.nanoTime() - next > interval) next = System.nanoTime();
                    deadline = next;
                }
                long cpu = mx.getCurrentThreadCpuTime() - cpu0;
                System.out.printf("%s interval=%dus slack=%d: %.0f ticks/s, late avg %.1f us, thread cpu %.1f%%, %.2f us cpu/tick%n",
                    method, interval / 1000, slack, ticks / (double) seconds, late / 1e3 / ticks, cpu * 100.0 / (seconds * 1e9), cpu / 1e3 / ticks);
            } catch (Throwable e) { throw new RuntimeException(e); }
        });
        t.start(); t.join();
    }
}
