package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.Test;

import dev.spyglass.testsupport.PythonInterpreters;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * Sampler.Builder.duration accepts any positive Duration ("no limit" is spelled null, but a caller may
 * well write a very long one); attach must then sample, not throw an undocumented ArithmeticException
 * after it has already opened the target (leaking its descriptors and buffers).
 */
class LongDurationTest {

    @Test
    void veryLongDurationSamples() throws Exception {
        // Not version-specific: one interpreter (a GIL build, pyenv first).
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 11);
        Path script = PythonScripts.write("threads.py", PythonScripts.THREADS);
        try (PythonScripts.Running target = PythonScripts.start(py, script)) {
            Sampler sampler = Sampler.builder().interval(Duration.ofMillis(5)).duration(Duration.ofDays(365L * 1000))
                    .build();
            Throwable thrown = null;
            try (SamplingSession s = sampler.attach(target.pid())) {
                Thread.sleep(50);
                assertThat(s.stats().ticks()).isPositive();
            } catch (ArithmeticException e) {
                thrown = e;
            }
            long leaked = InterruptedCloseTest.descriptorsInto(target.pid());
            assertThat(thrown).as("attach with a 1000-year duration (then %d descriptors into /proc/%d left open)",
                    leaked, target.pid()).isNull();
        }
    }
}
