package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.Test;

import dev.spyglass.testsupport.PythonInterpreters;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * A launched target that outlives the sampler's duration: the session must end when the duration has
 * passed, and stats() must report that duration as elapsed (and the rate over it).
 */
class LaunchDurationStatsTest {

    @Test
    void durationEndsLaunchedSession() throws Exception {
        // Not version-specific: one interpreter (a GIL build, pyenv first).
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 11);
        Path script = PythonScripts.write("threads.py", PythonScripts.THREADS);
        ProcessBuilder pb = py.processBuilder(script.toString()).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD);
        SamplingSession s = Sampler.builder().interval(Duration.ofMillis(5)).duration(Duration.ofMillis(500)).build()
                .launch(pb);
        try {
            assertThat(s.awaitTermination(Duration.ofSeconds(10))).isTrue();
            SamplingStats st = s.stats();
            assertThat(st.elapsed()).as("elapsed of a 500 ms session (%s)", st).isLessThan(Duration.ofMillis(1000));
        } finally {
            s.close();
            s.process().ifPresent(Process::destroyForcibly);
        }
    }
}
