package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Assumptions;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * GIL mode against CPU mode on one target: a thread spinning in Python and one reading 64 MiB blocks of
 * /dev/zero, a C call that releases the GIL while the kernel fills the buffer (hashlib would do, but
 * pyenv's 2.7 and 3.6 lack OpenSSL's _hashlib, and their builtin hashes keep the GIL). Both use a CPU,
 * so CPU mode shows both; GIL mode shows the spinner, and the reader only in the instants it takes the
 * GIL back between calls.
 *
 * <p>The reader fills one buffer again and again ({@code FileIO.readinto}, 2.7 included). With
 * {@code os.read} each call freed the previous 64 MiB bytes object with the GIL held, an munmap of
 * 16,384 touched pages: on this kernel that held the GIL 9 - 14% of the time, and the reader's share of GIL
 * mode crept over a tenth.
 */
class GilModeTest {
    static final String SCRIPT = String.join("\n",
            "import io, os, sys, threading, time",
            "def spinner():",
            "    x = 0",
            "    while True:",
            "        x = (x + 1) % 1000",
            "def reader():",
            "    f, buf = io.FileIO('/dev/zero', 'r'), bytearray(64 << 20)",
            "    while True:",
            "        f.readinto(buf)  # the kernel fills 64 MiB; readinto releases the GIL meanwhile",
            "for f in (spinner, reader):",
            "    t = threading.Thread(target=f, name=f.__name__)",
            "    t.daemon = True",
            "    t.start()",
            "sys.stdout.write('ready %d\\n' % os.getpid()); sys.stdout.flush()",
            "while True:",
            "    time.sleep(0.05)",
            "");

    @ForEachPython
    void gilModeShowsOnlyTheThreadHoldingTheGilOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Path script = PythonScripts.write("gilmode.py", SCRIPT);
        try (PythonScripts.Running target = PythonScripts.start(py, script)) {
            Map<String, Long> cpu = sample(target.pid(), SamplingMode.CPU);
            List<StackSample> gilSamples = new ArrayList<>();
            long waitedBefore = PythonScripts.runQueueWaitNanos(target.pid());
            Map<String, Long> gil = sample(target.pid(), SamplingMode.GIL, gilSamples);
            long waitedMs = (PythonScripts.runQueueWaitNanos(target.pid()) - waitedBefore) / 1_000_000;
            String figures = py.label() + ": CPU mode " + cpu + ", GIL mode " + gil + "; the target's threads waited "
                    + waitedMs + " ms for a CPU in the GIL-mode second";
            System.out.println(figures);
            long cpuTotal = cpu.values().stream().mapToLong(Long::longValue).sum();
            long gilTotal = gil.values().stream().mapToLong(Long::longValue).sum();
            Assumptions.assumeTrue(cpuTotal >= 30 && gilTotal >= 30, "too few samples (load?): " + figures);
            // The reader is on a CPU (in the kernel) much of the time: CPU mode sees it.
            assertThat(cpu.getOrDefault("reader", 0L)).as(figures).isGreaterThan(cpuTotal / 20);
            boolean holderKnown = gilSamples.stream().anyMatch(s -> s.thread().gilHeld() != null);
            if (!holderKnown) {
                // 2.7: no holder to read; GIL mode samples as CPU mode does.
                assertThat(gil.getOrDefault("reader", 0L)).as(figures).isGreaterThan(gilTotal / 5);
                return;
            }
            assertThat(gilSamples).as(figures).allMatch(s -> Boolean.TRUE.equals(s.thread().gilHeld()));
            if (gil.getOrDefault("reader", 0L) > gilTotal / 10 && waitedMs > 250) {
                // A loaded machine: the reader, back from os.read holding the GIL, waits for a CPU with it
                // (seen at load 22: 24 of 165 GIL samples). Not what this test is about.
                Assumptions.abort("the machine starves the target (load?): " + figures);
            }
            assertThat(gil.getOrDefault("reader", 0L)).as(figures).isLessThanOrEqualTo(gilTotal / 10);
            assertThat(gil.getOrDefault("spinner", 0L)).as(figures).isGreaterThanOrEqualTo(gilTotal * 8 / 10);
            assertThat(gil.getOrDefault("MainThread", 0L)).as(figures).isLessThanOrEqualTo(gilTotal / 10);
        }
    }

    private static Map<String, Long> sample(long pid, SamplingMode mode) throws Exception {
        return sample(pid, mode, new ArrayList<>());
    }

    private static Map<String, Long> sample(long pid, SamplingMode mode, List<StackSample> into) throws Exception {
        Sampler sampler = Sampler.builder().mode(mode).interval(Duration.ofMillis(5)).duration(Duration.ofMillis(1000))
                .build();
        try (SamplingSession s = sampler.attach(pid)) {
            s.forEach(into::add);
            assertThat(s.failure()).isEmpty();
        }
        return into.stream().collect(Collectors.groupingBy(StackSample::threadName, Collectors.counting()));
    }
}
