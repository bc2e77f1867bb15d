package dev.spyglass.examples;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.stream.Stream;

/**
 * Keeps the command's JVM on one CPU while it samples: every thread of this process is given an affinity of one CPU
 * ({@code sched_setaffinity(2)} per thread; threads made later inherit it). With the sampling thread looking back to
 * back at the shortest interval, the JVM's other threads (the consumer draining the queue, the collector) would
 * otherwise run on whichever core is free of it, which on a small machine is the target's: the target then lost
 * 6 - 15% at the highest rate where Austin, one thread, cost it 0.3 - 1.6%; pinned, 2.5 - 5.0% against Austin's
 * 0.6 - 2.0% in the same sittings (docs/performance.md, "The highest rate").
 * The CPU is one this process may use and the target may not, else one the target is not running on, the highest
 * such: the scheduler moves the target off it if needed. Nothing happens with one CPU allowed, or where the calls
 * fail (the command goes on unpinned).
 */
final class OneCpu {
    private static final int MASK_BYTES = 128; // 1,024 CPUs, as glibc's cpu_set_t

    private OneCpu() {
    }

    /** Pins every thread of this JVM to one CPU chosen against {@code target}; the CPU, or -1 when none was set. */
    @SuppressWarnings("restricted") // the CLI runs with --enable-native-access, as the library needs
    static int pinAwayFrom(long target) {
        try (Arena arena = Arena.ofConfined()) {
            Linker linker = Linker.nativeLinker();
            FunctionDescriptor d = FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_LONG, ValueLayout.ADDRESS);
            MethodHandle get = linker.downcallHandle(linker.defaultLookup().find("sched_getaffinity").orElseThrow(), d);
            MethodHandle set = linker.downcallHandle(linker.defaultLookup().find("sched_setaffinity").orElseThrow(), d);
            MemorySegment mask = arena.allocate(MASK_BYTES, 8);
            if ((int) get.invokeExact(0, (long) MASK_BYTES, mask) != 0) {
                return -1;
            }
            BitSet ours = BitSet.valueOf(mask.toArray(ValueLayout.JAVA_BYTE));
            if (ours.cardinality() < 2) {
                return -1;
            }
            BitSet theirs = (int) get.invokeExact((int) target, (long) MASK_BYTES, mask) == 0
                    ? BitSet.valueOf(mask.toArray(ValueLayout.JAVA_BYTE)) : new BitSet();
            int cpu = choose(ours, theirs, runningOn(target));
            mask.fill((byte) 0);
            mask.set(ValueLayout.JAVA_BYTE, cpu / 8, (byte) (1 << (cpu % 8)));
            int pinned = 0;
            try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
                for (Path t : (Iterable<Path>) tasks::iterator) {
                    // A thread that ended meanwhile fails with ESRCH: nothing to pin.
                    if ((int) set.invokeExact(Integer.parseInt(t.getFileName().toString()), (long) MASK_BYTES, mask) == 0) {
                        pinned++;
                    }
                }
            }
            return pinned > 0 ? cpu : -1;
        } catch (Throwable e) {
            return -1;
        }
    }

    /** The highest of {@code ours} outside {@code theirs}, else the highest but {@code busy}, else the highest. */
    static int choose(BitSet ours, BitSet theirs, int busy) {
        int fallback = -1;
        for (int c = ours.length() - 1; c >= 0; c = ours.previousSetBit(c - 1)) {
            if (!theirs.get(c)) {
                return c;
            }
            if (c != busy && fallback < 0) {
                fallback = c;
            }
        }
        return fallback >= 0 ? fallback : ours.length() - 1;
    }

    /** The CPU {@code pid} last ran on (field 39 of its {@code stat}), -1 when unknown. */
    private static int runningOn(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return f.length > 36 ? Integer.parseInt(f[36]) : -1;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
