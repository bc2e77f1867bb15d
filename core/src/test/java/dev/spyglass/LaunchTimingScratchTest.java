package dev.spyglass;

import java.time.Duration;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

class LaunchTimingScratchTest {
    @ForEachPython
    void time(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        for (int i = 0; i < 3; i++) {
            long t0 = System.nanoTime();
            ProcessBuilder pb = py.processBuilder("-c", "while True: pass");
            try (PythonProcess p = PythonProcess.launch(pb, Duration.ofSeconds(10))) {
                long t1 = System.nanoTime();
                System.err.printf("TIMING %s launch->ready %.1f ms%n", py.label(), (t1 - t0) / 1e6);
                p.process().get().destroyForcibly();
            }
        }
    }
}
