package dev.spyglass.internal.nativeframes;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.spyglass.Frame;
import dev.spyglass.PythonScripts;
import dev.spyglass.Sampler;
import dev.spyglass.SamplingSession;
import dev.spyglass.StackSample;
import dev.spyglass.testsupport.PythonInterpreter;
import dev.spyglass.testsupport.PythonInterpreters;

/**
 * A thread the interpreter does not know: a C library started by ctypes runs {@code native_worker_loop}
 * on its own pthread. With all threads it is sampled (native frames only, Python id 0, interpreter -1,
 * the kernel's name); without, it is not.
 */
class AllThreadsTest {

    @Test
    void threadsWithoutAPythonThreadStateAreSampledOnlyWhenAskedFor() throws Exception {
        NativeTargets.assumePtrace();
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 12);
        Path lib = NativeTargets.buildLibrary("worker", String.join("\n",
                "#include <pthread.h>",
                "#include <time.h>",
                "__attribute__((noinline)) void native_worker_loop(void) {",
                "    struct timespec ts = {0, 1000000};",
                "    for (;;) { volatile long x = 0; for (long i = 0; i < 200000; i++) x += i; nanosleep(&ts, 0); }",
                "}",
                "static void *run(void *arg) { pthread_setname_np(pthread_self(), \"c-worker\"); native_worker_loop(); return 0; }",
                "int start_worker(void) { pthread_t t; return pthread_create(&t, 0, run, 0); }",
                ""), "-pthread");
        Path script = PythonScripts.write("worker_host.py", String.join("\n",
                "import ctypes, sys, time",
                "lib = ctypes.CDLL(sys.argv[1])",
                "assert lib.start_worker() == 0",
                "def py_idle():",
                "    while True:",
                "        time.sleep(0.01)",
                "sys.stdout.write('ready\\n'); sys.stdout.flush()",
                "py_idle()",
                ""));
        try (PythonScripts.Running target = PythonScripts.startUnderShell(py, script, lib.toString())) {
            List<StackSample> all = sample(target.pid(), true);
            List<StackSample> worker = all.stream().filter(s -> s.pythonThreadId() == 0).toList();
            assertThat(worker).as("samples of the C worker among %d", all.size()).isNotEmpty();
            StackSample w = worker.getFirst();
            assertThat(w.interpreterId()).isEqualTo(-1);
            assertThat(w.threadName()).isEqualTo("c-worker");
            assertThat(w.frames()).as("%s", w.frames()).allMatch(f -> f.kind() == Frame.FrameKind.NATIVE);
            assertThat(worker).anyMatch(s -> s.frames().stream().anyMatch(f -> f.function().equals("native_worker_loop")
                    && f.library().equals("libworker.so")));
            assertThat(all).as("the Python thread is still sampled").anyMatch(s -> s.frames().stream()
                    .anyMatch(f -> f.function().equals("py_idle")));

            List<StackSample> pythonOnly = sample(target.pid(), false);
            assertThat(pythonOnly).isNotEmpty().noneMatch(s -> s.pythonThreadId() == 0);
        }
    }

    private static List<StackSample> sample(long pid, boolean allThreads) throws Exception {
        Sampler sampler = Sampler.builder().nativeFrames(true).nativeFramesOfAllThreads(allThreads)
                .interval(Duration.ofMillis(5)).duration(Duration.ofSeconds(1)).build();
        List<StackSample> samples = new ArrayList<>();
        try (SamplingSession s = sampler.attach(pid)) {
            s.forEach(samples::add);
            assertThat(s.failure()).as("session failure").isEmpty();
        }
        return samples;
    }
}
