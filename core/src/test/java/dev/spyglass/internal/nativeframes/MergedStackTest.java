package dev.spyglass.internal.nativeframes;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

import dev.spyglass.Frame;
import dev.spyglass.PythonScripts;
import dev.spyglass.Sampler;
import dev.spyglass.SamplingSession;
import dev.spyglass.SamplingStats;
import dev.spyglass.StackSample;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * A real interpreter asleep under a few Python calls, sampled with native frames: every sample of
 * the sleeping thread is one merged stack, innermost first: libc's sleep, the interpreter's
 * {@code time_sleep}, then the Python frames in order down to {@code <module>}, with the
 * interpreter's plumbing hidden; the thread is never left stopped or traced.
 */
class MergedStackTest {

    @ForEachPython
    void mergesASleepingThreadsNativeAndPythonFrames(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        NativeTargets.assumePtrace();
        Path script = PythonScripts.write("nativemerge.py", String.join("\n",
                "import os, sys, time",
                "def inner():",
                "    sys.stdout.write('ready %d\\n' % os.getpid()); sys.stdout.flush()",
                "    while True:",
                "        time.sleep(0.05)",
                "def outer(n):",
                "    if n == 0:",
                "        inner()",
                "    else:",
                "        outer(n - 1)",
                "outer(5)",
                ""));
        // Under a shell: the JDK's reaper would take the ptrace stops of the JVM's own child.
        try (PythonScripts.Running target = PythonScripts.startUnderShell(py, script)) {
            String ready = target.readyLine();
            assertThat(ready).as("target's first line").startsWith("ready ");
            int pid = Integer.parseInt(ready.substring(6).trim());
            List<StackSample> samples = new ArrayList<>();
            SamplingStats stats;
            Sampler sampler = Sampler.builder().nativeFrames(true).interval(Duration.ofMillis(5))
                    .duration(Duration.ofSeconds(1)).build();
            try (SamplingSession s = sampler.attach(pid)) {
                s.forEach(samples::add);
                stats = s.stats();
            }
            String figures = py.label() + ": " + stats + "; first: "
                    + (samples.isEmpty() ? "none" : samples.getFirst().frames());
            System.out.println(figures);
            assertThat(samples).as(figures).isNotEmpty();
            assertThat(stats.threadStops().stops()).as(figures).isGreaterThan(0);
            // Spliced, not torn: at least 90% of the looks (a loaded machine may catch a thread between calls).
            assertThat((double) stats.tornSamples() / (stats.samples() + stats.tornSamples())).as(figures).isLessThan(0.1);
            for (StackSample sample : samples) {
                List<String> names = sample.frames().stream().map(Frame::function).collect(Collectors.toList());
                int sleep = names.indexOf("time_sleep");
                int inner = names.indexOf("inner");
                if (inner < 0) {
                    continue; // between calls of the loop: the module frame only
                }
                assertThat(names).as(figures).endsWith("inner", "outer", "outer", "outer", "outer", "outer", "outer",
                        "<module>");
                assertThat(sample.frames().get(inner).kind()).isEqualTo(Frame.FrameKind.PYTHON);
                assertThat(names).as("no interpreter plumbing: %s", names).noneMatch(n -> n.startsWith("_PyEval")
                        || n.equals("PyEval_EvalFrameEx") || n.equals("main") || n.equals("Py_RunMain"));
                if (sleep >= 0) {
                    assertThat(sleep).as(names.toString()).isLessThan(inner);
                    // Above time_sleep, libc's sleep; or, once the sleep is over, taking the GIL back (seen under
                    // two CPU hogs: pthread_mutex_lock, take_gil); unless the look caught the thread in
                    // time_sleep's own code (seen once), before or after the call, or in the thread-local lookup
                    // of its thread state (__tls_get_addr, seen once on 3.12 under load).
                    if (sleep > 0) {
                        assertThat(names.subList(0, sleep)).as(names.toString()).anyMatch(n -> n.contains("sleep")
                                || n.contains("select") || n.contains("gil") || n.equals("PyEval_RestoreThread")
                                || n.equals("__tls_get_addr"));
                    }
                    assertThat(sample.frames().get(0).kind()).isEqualTo(Frame.FrameKind.NATIVE);
                }
            }
            // A stripped build (Debian's, no debug file installed) does not name its static time_sleep.
            boolean named;
            try (dev.spyglass.elf.ElfFile elf = dev.spyglass.elf.ElfFile.open(py.interpreterObject())) {
                named = elf.section(".symtab").isPresent();
            }
            assertThat(samples).as("a sample in time.sleep with native frames: " + figures)
                    .anyMatch(x -> x.frames().stream().anyMatch(f -> named ? f.function().equals("time_sleep")
                            : f.kind() == Frame.FrameKind.NATIVE && f.library().startsWith("libc.so")));
            assertThat(dev.spyglass.internal.os.Ptrace.tracerOf(pid, pid)).as("no tracer left").isZero();
        }
    }
}
