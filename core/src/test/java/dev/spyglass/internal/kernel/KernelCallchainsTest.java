package dev.spyglass.internal.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.ResourceAccessMode;
import org.junit.jupiter.api.parallel.ResourceLock;
import org.junit.jupiter.api.parallel.Resources;

import dev.spyglass.PythonScripts;
import dev.spyglass.SpyglassException;
import dev.spyglass.internal.os.Errno;
import dev.spyglass.testsupport.PythonInterpreter;
import dev.spyglass.testsupport.PythonInterpreters;

/** Kernel callchains of real Python processes, sampled as root (skipped when perf events are refused). */
class KernelCallchainsTest {
    static final String READ_LOOP = String.join("\n",
            "import os",
            "fd = os.open('/dev/zero', os.O_RDONLY)",
            "print('ready', flush=True)",
            "while True:",
            "    os.read(fd, 1 << 20)",
            "");
    static final String CPU_LOOP = String.join("\n",
            "print('ready', flush=True)",
            "while True:",
            "    x = 1 + 1",
            "");

    /** Opens and closes one event for this JVM's own thread: skips the test when perf events are refused. */
    static void assumePerfEvents() {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
                "kernel callchains of another process need root (or CAP_PERFMON); the refusal itself is"
                        + " checked by KernelCallchainsAccessTest");
        try (KernelCallchains k = new KernelCallchains(ProcessHandle.current().pid(), 10_000_000)) {
            k.track(new int[] {(int) ProcessHandle.current().pid()}, 1);
        } catch (SpyglassException e) {
            Assumptions.abort("perf_event_open refused: " + e.getMessage());
        }
    }

    /** Every kernel chain seen for {@code tid} at each 1 ms tick until {@code wanted} chains or 20 s. */
    static List<List<String>> collect(KernelCallchains k, KernelSymbols syms, int tid, int wanted) throws Exception {
        List<List<String>> chains = new ArrayList<>();
        long[] ips = new long[KernelCallchains.MAX_FRAMES];
        long deadline = System.nanoTime() + 20_000_000_000L;
        long last = Long.MIN_VALUE;
        while (chains.size() < wanted && System.nanoTime() - deadline < 0) {
            Thread.sleep(1);
            k.drain();
            long t = k.latestSampleNanos(tid);
            if (t == last) {
                continue; // no new sample since the last look
            }
            last = t;
            int n = k.kernelIps(tid, t, ips);
            List<String> names = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String name = syms.nameOf(ips[i]);
                names.add(name == null ? "0x" + Long.toHexString(ips[i]) : name);
            }
            if (n > 0) {
                chains.add(names);
            }
        }
        return chains;
    }

    @Test
    void aReadLoopIsSeenReadingInTheKernel() throws Exception {
        assumePerfEvents();
        KernelSymbols syms = KernelSymbols.load();
        Assumptions.assumeTrue(syms.available(), "/proc/kallsyms hides addresses");
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 8);
        try (PythonScripts.Running r = PythonScripts.start(py, PythonScripts.write("reads.py", READ_LOOP));
                KernelCallchains k = new KernelCallchains(r.pid(), 1_000_000)) {
            int tid = (int) r.pid();
            k.track(new int[] {tid}, 1);
            assertThat(k.trackedThreads()).isEqualTo(1);
            List<List<String>> chains = collect(k, syms, tid, 50);
            assertThat(chains).as("kernel chains of a read loop").hasSizeGreaterThanOrEqualTo(50);
            // Linux 6.18: read_zero vfs_read ksys_read do_syscall_64 entry_SYSCALL_64_after_hwframe.
            long reading = chains.stream().filter(c -> c.contains("vfs_read") || c.contains("ksys_read")).count();
            assertThat(reading).as("chains through vfs_read/ksys_read: %s", chains.subList(0, 10))
                    .isGreaterThan(chains.size() / 2);
            assertThat(chains).as("innermost first: the entry point is outermost")
                    .anyMatch(c -> c.getLast().startsWith("entry_SYSCALL_64"));
            // The sample records the interrupted registers, not the sampling interrupt's own frames.
            assertThat(chains).noneMatch(c -> c.contains("perf_swevent_hrtimer") || c.contains("hrtimer_interrupt"));
            // A sample older than asked for is not returned.
            assertThat(k.kernelIps(tid, System.nanoTime() + 1_000_000_000L, new long[64])).isZero();
            assertThat(k.kernelIps(tid + 999_999, Long.MIN_VALUE, new long[64])).isZero();
            assertThat(k.lostSamples()).isZero();
        }
    }

    @Test
    void aPurePythonLoopIsMostlyInUserMode() throws Exception {
        assumePerfEvents();
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 8);
        try (PythonScripts.Running r = PythonScripts.start(py, PythonScripts.write("spin.py", CPU_LOOP));
                KernelCallchains k = new KernelCallchains(r.pid(), 1_000_000)) {
            int tid = (int) r.pid();
            k.track(new int[] {tid}, 1);
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (k.sampleCounts(tid)[0] < 200 && System.nanoTime() - deadline < 0) {
                Thread.sleep(5);
                k.drain();
            }
            long[] counts = k.sampleCounts(tid);
            assertThat(counts[0]).as("samples").isGreaterThanOrEqualTo(200);
            assertThat(counts[1]).as("samples with kernel frames of %s", counts[0]).isLessThan(counts[0] / 4);
        }
    }

    @Test
    @ResourceLock(value = Resources.GLOBAL, mode = ResourceAccessMode.READ_WRITE) // counts all of this JVM's descriptors
    void exitedThreadsAndCloseLeaveNoDescriptors() throws Exception {
        assumePerfEvents();
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 8);
        long fdsBefore = openDescriptors();
        long mapsBefore = perfMappings();
        PythonScripts.Running r = PythonScripts.start(py, PythonScripts.write("spin.py", CPU_LOOP));
        try (KernelCallchains k = new KernelCallchains(r.pid(), 1_000_000)) {
            int tid = (int) r.pid();
            long tracked = System.nanoTime();
            k.track(new int[] {tid}, 1);
            assertThat(perfMappings()).as("its ring buffer").isEqualTo(mapsBefore + 1);
            assertThat(openDescriptors()).as("its event").isGreaterThan(fdsBefore);
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (k.latestSampleNanos(tid) == Long.MIN_VALUE && System.nanoTime() - deadline < 0) {
                Thread.sleep(5);
                k.drain();
            }
            long sampled = k.latestSampleNanos(tid);
            assertThat(sampled).as("a sample of the running thread").isNotEqualTo(Long.MIN_VALUE);
            assertThat(sampled).as("CLOCK_MONOTONIC, as System.nanoTime()").isBetween(tracked, System.nanoTime());
            r.close(); // the thread exits with its event open
            assertThat(r.process().isAlive()).isFalse();
            k.drain();
            assertThat(k.latestSampleNanos(tid)).isGreaterThanOrEqualTo(sampled);
            k.track(new int[0], 0);
            assertThat(k.trackedThreads()).isZero();
            k.drain();
            // A thread that no longer exists is skipped, not an error.
            k.track(new int[] {tid}, 1);
            assertThat(k.trackedThreads()).isZero();
        } finally {
            r.close();
        }
        assertThat(openDescriptors()).isEqualTo(fdsBefore);
        assertThat(perfMappings()).isEqualTo(mapsBefore);
    }

    @Test
    void oneRingCannotBeSharedBetweenThreadsOfNoFixedCpu() throws Exception {
        // Why each thread has its own ring: PERF_EVENT_IOC_SET_OUTPUT refuses events of another task
        // when neither is bound to a CPU (6.18 kernel/events/core.c perf_event_set_output).
        assumePerfEvents();
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 8);
        try (PythonScripts.Running a = PythonScripts.start(py, PythonScripts.write("a.py", CPU_LOOP));
                PythonScripts.Running b = PythonScripts.start(py, PythonScripts.write("b.py", CPU_LOOP));
                PerfSyscalls sys = new PerfSyscalls(); Arena arena = Arena.ofConfined()) {
            MemorySegment attr = KernelCallchains.attr(arena, 1_000_000);
            int fdA = sys.perfEventOpen(attr, (int) a.pid());
            int fdB = sys.perfEventOpen(attr, (int) b.pid());
            try {
                assertThat(fdA).isPositive();
                assertThat(fdB).isPositive();
                assertThat(sys.ioctl(fdB, PerfSyscalls.IOC_SET_OUTPUT, fdA)).isEqualTo(-Errno.EINVAL);
            } finally {
                sys.close(fdA);
                sys.close(fdB);
            }
        }
    }

    /** Ring buffers mapped in this JVM ({@code anon_inode:[perf_event]} in /proc/self/maps). */
    static long perfMappings() throws Exception {
        return Files.readAllLines(Path.of("/proc/self/maps")).stream().filter(l -> l.contains("perf_event")).count();
    }

    static long openDescriptors() throws Exception {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }
}
