package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

import dev.spyglass.testsupport.PythonInterpreter;
import dev.spyglass.testsupport.PythonInterpreters;

/**
 * The non-stop native engine's close paths (close() while sampling, the duration's end, the target's
 * exit) release every perf descriptor, ring mapping and file it opened. Isolated: other tests' perf
 * events and files would blur the counts. The descriptors after each close are a subset of those before, not the
 * same set: the JVM closes some of its own meanwhile (an HTTP client an earlier test left, collected, closed its
 * epoll and eventfd in CI), and a descriptor left open by the engine is a new number, or a reused one naming a
 * perf event, so it still fails.
 */
@Isolated
class NonStopNativeFramesCloseTest {
    private static final String TARGET = String.join("\n",
            "import sys, threading, time",
            "",
            "def spin():",
            "    while True:",
            "        sum(range(100))",
            "",
            "threading.Thread(target=spin).start()",
            "sys.stdout.write('ready\\n')",
            "sys.stdout.flush()",
            "while True:",
            "    time.sleep(0.01)",
            "");

    @Test
    void everyClosePathReleasesDescriptorsAndMappings() throws Exception {
        NonStopNativeFramesTest.assumeNonStop();
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 12);
        Path script = PythonScripts.write("nonstop_close.py", TARGET);
        try (PythonScripts.Running target = PythonScripts.start(py, script)) {
            // A first session loads the classes (the JDK keeps the jars it read open) and the logging.
            try (SamplingSession s = NonStopNativeFramesTest.sampler(Sampler.NativeEngine.NON_STOP, Duration.ofMillis(5), Duration.ofMillis(300))
                    .attach(target.pid())) {
                s.forEach(x -> {
                });
            }
            List<String> fds = fds();
            long maps = perfMappings();
            // Closed by close() while sampling.
            try (SamplingSession s = NonStopNativeFramesTest.sampler(Sampler.NativeEngine.NON_STOP, Duration.ofMillis(5), Duration.ofSeconds(60))
                    .attach(target.pid())) {
                long until = System.nanoTime() + 20_000_000_000L;
                while (s.stats().ticks() < 10 && System.nanoTime() - until < 0) {
                    Thread.sleep(10);
                }
                assertThat(perfMappings()).as("perf rings mapped while sampling").isGreaterThan(maps);
            }
            assertThat(fds()).as("descriptors after close()").isSubsetOf(fds);
            assertThat(perfMappings()).as("perf mappings after close()").isEqualTo(maps);
            // Ended by its duration, then closed.
            try (SamplingSession s = NonStopNativeFramesTest.sampler(Sampler.NativeEngine.NON_STOP, Duration.ofMillis(5), Duration.ofMillis(300))
                    .attach(target.pid())) {
                s.forEach(x -> {
                });
            }
            assertThat(fds()).as("descriptors after a session's end").isSubsetOf(fds);
            assertThat(perfMappings()).as("perf mappings after a session's end").isEqualTo(maps);
            // Ended by the target's exit.
            try (SamplingSession s = NonStopNativeFramesTest.sampler(Sampler.NativeEngine.NON_STOP, Duration.ofMillis(5), Duration.ofSeconds(60))
                    .attach(target.pid())) {
                long until = System.nanoTime() + 20_000_000_000L;
                while (s.stats().ticks() < 10 && System.nanoTime() - until < 0) {
                    Thread.sleep(10);
                }
                target.process().destroyForcibly().waitFor();
                s.forEach(x -> {
                });
            }
            assertThat(fds()).as("descriptors after the target's exit").isSubsetOf(fds);
            assertThat(perfMappings()).as("perf mappings after the target's exit").isEqualTo(maps);
        }
    }

    /**
     * This JVM's descriptors, but for the jars and class data it keeps open once read, the target's pipes
     * and this listing.
     */
    private static List<String> fds() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.map(p -> {
                try {
                    return p.getFileName() + " " + Files.readSymbolicLink(p);
                } catch (IOException e) {
                    return p.getFileName() + " ?";
                }
            }).filter(l -> !l.contains(".jar") && !l.contains(".jsa") && !l.contains("pipe:") && !l.endsWith("/fd"))
                    .sorted().toList();
        }
    }

    private static long perfMappings() throws IOException {
        try (Stream<String> lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.filter(l -> l.contains("perf_event")).count();
        }
    }
}
