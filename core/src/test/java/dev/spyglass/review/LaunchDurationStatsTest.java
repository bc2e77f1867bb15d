package dev.spyglass.review;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;

import dev.spyglass.PythonScripts;
import dev.spyglass.Sampler;
import dev.spyglass.SamplingSession;
import dev.spyglass.SamplingStats;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * A launched target that outlives the sampler's duration: the session must end when the duration has
 * passed, and stats() must report that duration as elapsed (and the rate over it).
 */
public class LaunchDurationStatsTest {

    @ForEachPython
    void durationEndsLaunchedSessionOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Path script = PythonScripts.write("threads.py", PythonScripts.THREADS);
        ProcessBuilder pb = py.processBuilder(script.toString()).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD);
        SamplingSession s = Sampler.builder().interval(Duration.ofMillis(5)).duration(Duration.ofMillis(500)).build()
                .launch(pb);
        try {
            long t0 = System.nanoTime();
            assertThat(s.awaitTermination(Duration.ofSeconds(10))).isTrue();
            long waitedMillis = (System.nanoTime() - t0) / 1_000_000;
            SamplingStats st = s.stats();
            System.err.println("waited " + waitedMillis + " ms; " + st);
            assertThat(st.elapsed()).as("elapsed of a 500 ms session (%s)", st).isLessThan(Duration.ofMillis(1000));
        } finally {
            s.close();
            s.process().ifPresent(Process::destroyForcibly);
        }
    }
}
