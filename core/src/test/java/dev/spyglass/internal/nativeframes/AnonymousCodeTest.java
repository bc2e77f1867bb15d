package dev.spyglass.internal.nativeframes;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Assumptions;

import dev.spyglass.Frame;
import dev.spyglass.PythonScripts;
import dev.spyglass.Sampler;
import dev.spyglass.SamplingSession;
import dev.spyglass.SamplingStats;
import dev.spyglass.StackSample;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * Code in anonymous executable memory, as a JIT makes it: a library copies eight bytes of machine code
 * into an mmap'd page and calls through it into a ctypes callback that sleeps. The native walk cannot go
 * past that code (no object, no call-frame information): it shows one {@code [anonymous]} frame and
 * stops, and the merge is partial (the outer Python frames appended), never torn or guessed.
 */
class AnonymousCodeTest {
    static final String JIT = String.join("\n",
            "#include <string.h>",
            "#include <sys/mman.h>",
            "typedef void (*cb_t)(void);",
            "/* push rbp; mov rbp, rsp; call rdi; pop rbp; ret */",
            "static const unsigned char CODE[] = {0x55, 0x48, 0x89, 0xe5, 0xff, 0xd7, 0x5d, 0xc3};",
            "int run_jit(cb_t cb) {",
            "    void *p = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);",
            "    if (p == MAP_FAILED) return -1;",
            "    memcpy(p, CODE, sizeof CODE);",
            "    ((void (*)(cb_t)) p)(cb);",
            "    return 0;",
            "}",
            "");

    @ForEachPython
    void codeInAnonymousMemoryEndsTheWalkAsOneFrameOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        NativeTargets.assumePtrace();
        Path lib = NativeTargets.buildLibrary("jit", JIT);
        Path script = PythonScripts.write("jit.py", String.join("\n",
                "import ctypes, os, sys, time",
                "lib = ctypes.CDLL(sys.argv[1])",
                "def in_callback():",
                "    sys.stdout.write('ready %d\\n' % os.getpid()); sys.stdout.flush()",
                "    while True:",
                "        time.sleep(0.01)",
                "CB = ctypes.CFUNCTYPE(None)",
                "cb = CB(in_callback)",
                "def caller():",
                "    if lib.run_jit(cb) != 0:",
                "        sys.exit('mmap refused')",
                "caller()",
                ""));
        PythonScripts.Running target;
        try {
            target = PythonScripts.startUnderShell(py, script, lib.toString());
        } catch (AssertionError e) {
            Assumptions.abort(py.label() + ": the target did not start (ctypes missing, or W^X refused): " + e.getMessage());
            return;
        }
        try (target) {
            List<StackSample> samples = new ArrayList<>();
            SamplingStats stats;
            Sampler sampler = Sampler.builder().nativeFrames(true).interval(Duration.ofMillis(10))
                    .duration(Duration.ofMillis(800)).build();
            try (SamplingSession s = sampler.attach(target.pid())) {
                s.forEach(samples::add);
                stats = s.stats();
                assertThat(s.failure()).isEmpty();
            }
            List<StackSample> inCallback = samples.stream().filter(x -> x.frames().stream()
                    .anyMatch(f -> f.function().equals("in_callback"))).toList();
            String figures = py.label() + ": " + stats + "; first: " + (inCallback.isEmpty() ? "none"
                    : inCallback.getFirst().frames());
            System.out.println(figures);
            Assumptions.assumeTrue(inCallback.size() >= 5, "only " + inCallback.size() + " samples (load?): " + figures);
            for (StackSample s : inCallback) {
                List<String> names = s.frames().stream().map(Frame::function).toList();
                int callback = names.indexOf("in_callback");
                int anonymous = -1;
                for (int i = 0; i < s.frames().size(); i++) {
                    if (s.frames().get(i).file().equals("[anonymous]")) {
                        anonymous = i;
                    }
                }
                assertThat(anonymous).as("one [anonymous] frame under the callback: " + names).isGreaterThan(callback);
                assertThat(s.frames().stream().filter(f -> f.file().equals("[anonymous]")).count()).as(names.toString())
                        .isEqualTo(1);
                // The walk stopped there: what is outer to it is the Python frames appended, no native guess.
                assertThat(s.frames().subList(anonymous + 1, s.frames().size())).as(names.toString())
                        .allMatch(f -> f.kind() == Frame.FrameKind.PYTHON)
                        .extracting(Frame::function).containsExactly("caller", "<module>");
            }
            // Under two CPU hogs and a suite (Debian 3.15, 7 Dec 2026) 9 of 43 looks were torn with stops of up to
            // 108 ms at p99: the machine's, not the walk's. Said and skipped when the stops show it.
            Assumptions.assumeTrue(stats.threadStops().p99().toMillis() < 20,
                    () -> "stops of " + stats.threadStops().p99().toMillis() + " ms at p99 (a loaded machine): " + figures);
            assertThat((double) stats.tornSamples() / (stats.samples() + stats.tornSamples())).as(figures)
                    .isLessThan(0.1);
        }
    }
}
