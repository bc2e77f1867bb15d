package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import dev.spyglass.testsupport.PythonInterpreters;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * SamplingSession.close() says it releases buffers and descriptors. Called on a thread whose interrupt
 * flag is set (an executor being shut down), it must still do so, or at least a later close() must.
 */
class InterruptedCloseTest {

    static long descriptorsInto(long pid) throws IOException {
        String prefix = "/proc/" + pid + "/";
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(p -> {
                try {
                    return Files.readSymbolicLink(p).toString().startsWith(prefix);
                } catch (IOException e) {
                    return false;
                }
            }).count();
        }
    }

    @Test
    void closeOnInterruptedThreadReleasesDescriptors() throws Exception {
        // Not version-specific: one interpreter (a GIL build, pyenv first).
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 11);
        Path script = PythonScripts.write("threads.py", PythonScripts.THREADS);
        try (PythonScripts.Running target = PythonScripts.start(py, script)) {
            SamplingSession s = Sampler.builder().interval(Duration.ofMillis(5)).build().attach(target.pid());
            Thread.sleep(100);
            assertThat(descriptorsInto(target.pid())).as("open while sampling").isGreaterThan(0);
            Thread.currentThread().interrupt();
            s.close();
            Thread.interrupted();
            assertThat(s.awaitTermination(Duration.ofSeconds(5))).isTrue();
            s.close(); // a second close, now uninterrupted
            assertThat(descriptorsInto(target.pid())).as("descriptors into /proc/%d after close()", target.pid())
                    .isZero();
        }
    }
}
