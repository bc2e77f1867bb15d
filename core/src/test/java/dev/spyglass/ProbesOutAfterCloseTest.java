package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

import dev.spyglass.internal.nativeframes.NativeTargets;
import dev.spyglass.testsupport.PythonInterpreter;
import dev.spyglass.testsupport.PythonInterpreters;

/**
 * A probe is out of the target when {@link FunctionProbes#close()} returns, even while another thread of this JVM
 * starts processes: each child holds a copy of the probes' descriptors from its fork to its exec, and the kernel
 * takes a breakpoint out only with the last of them. Before the close waited for it, the {@code int3} was still in
 * place right after close in 10 of 40 closes at load 8 (20 - 107 ms), in none without the other thread.
 */
@Execution(ExecutionMode.CONCURRENT)
class ProbesOutAfterCloseTest {
    private static final int CLOSES = 15;

    @Test
    void closeReturnsWithTheBreakpointOutWhileThisJvmStartsProcesses() throws Exception {
        Assumptions.assumeTrue(Sampler.pageFaultsRefusal().isEmpty(), "perf events not permitted here");
        PythonInterpreter py = PythonInterpreters.available().filter(FunctionProbesTest::probeable).findFirst()
                .orElse(null);
        Assumptions.assumeTrue(py != null, "no interpreter function probes are tested on");
        Path lib = NativeTargets.buildLibrary("spyprobe", FunctionProbesTest.SOURCE);
        Path script = PythonScripts.write("spyprobe.py", FunctionProbesTest.SCRIPT);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong started = new AtomicLong();
        Thread starter = new Thread(() -> {
            while (!stop.get()) {
                try {
                    new ProcessBuilder("true").start().waitFor();
                    started.incrementAndGet();
                } catch (Exception e) {
                    return;
                }
            }
        }, "process-starter");
        try (PythonScripts.Running target = PythonScripts.start(py, script, lib.toString())) {
            long address = FunctionProbesTest.address(target.pid(), lib, "spy_outer");
            byte original = FunctionProbesTest.byteAt(target.pid(), address);
            starter.start();
            long longest = 0;
            for (FunctionProbes.Route route : FunctionProbes.Route.values()) {
                for (int i = 0; i < CLOSES; i++) {
                    FunctionProbes p = FunctionProbes.attach(target.pid(),
                            List.of(ProbedFunction.named("spy_outer", "libspyprobe")), false, route);
                    Thread.sleep(5);
                    long t0 = System.nanoTime();
                    p.close();
                    long closeNanos = System.nanoTime() - t0;
                    byte now = FunctionProbesTest.byteAt(target.pid(), address);
                    if (closeNanos >= 1_000_000_000L) {
                        // the close waited its whole second (a child starting for longer on a starved machine): the
                        // breakpoint must still go
                        System.out.printf("%s %s: close took %d ms%n", py.label(), route, closeNanos / 1_000_000);
                        now = FunctionProbesTest.restoredWithin(target.pid(), address, original, 10_000);
                    }
                    assertThat(now).as("%s %s close %d: the breakpoint out when close returned (%d ms)", py.label(),
                            route, i, closeNanos / 1_000_000).isEqualTo(original);
                    longest = Math.max(longest, closeNanos);
                }
            }
            System.out.printf("%s: %d closes, the longest %d ms, while %d processes were started%n", py.label(),
                    2 * CLOSES, longest / 1_000_000, started.get());
            assertThat(started.get()).as("processes started meanwhile").isPositive();
        } finally {
            stop.set(true);
            starter.join();
        }
    }
}
