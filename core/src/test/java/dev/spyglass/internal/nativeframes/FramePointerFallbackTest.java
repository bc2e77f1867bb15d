package dev.spyglass.internal.nativeframes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

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
import dev.spyglass.elf.ElfFile;
import dev.spyglass.testsupport.PythonInterpreter;
import dev.spyglass.testsupport.PythonInterpreters;

/**
 * Code without call-frame information: a C library built with {@code -fno-asynchronous-unwind-tables}
 * (no {@code .eh_frame} at all) and frame pointers, called through ctypes, spins. The walk must step
 * out of it by the frame pointer into libffi and ctypes and on to the Python caller; without the
 * fallback it would stop at the spinning function (and the merge would append the Python frames
 * straight after it, with no libffi or ctypes frame between).
 */
class FramePointerFallbackTest {

    @Test
    void stepsOutOfCodeWithoutCallFrameInformationByTheFramePointer() throws Exception {
        NativeTargets.assumePtrace();
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 12);
        Path lib = NativeTargets.buildLibrary("nocfi", String.join("\n",
                "__attribute__((noinline)) long nocfi_spin(long n) {",
                "    volatile long x = 0;",
                "    for (long i = 0; i < n; i++) { x += i; }",
                "    return x;",
                "}",
                ""), "-fno-omit-frame-pointer", "-fno-asynchronous-unwind-tables", "-fno-unwind-tables");
        try (ElfFile elf = ElfFile.open(lib)) {
            // The linker's start files bring their own .eh_frame; the function itself must have none.
            long at = elf.symbol("nocfi_spin").orElseThrow().value();
            dev.spyglass.elf.UnwindTable table = dev.spyglass.elf.UnwindTable.of(elf);
            int row = table.find(at);
            assertThat(row < 0 || table.cfa(row) == dev.spyglass.elf.UnwindTable.Cfa.NO_INFO)
                    .as("no call-frame information covers nocfi_spin").isTrue();
        }
        Path script = PythonScripts.write("nocfi_caller.py", String.join("\n",
                "import ctypes, os, sys",
                "lib = ctypes.CDLL(sys.argv[1])",
                "lib.nocfi_spin.argtypes = [ctypes.c_long]",
                "lib.nocfi_spin.restype = ctypes.c_long",
                "def py_caller():",
                "    while True:",
                "        lib.nocfi_spin(50000000)",
                "sys.stdout.write('ready\\n'); sys.stdout.flush()",
                "py_caller()",
                ""));
        try (PythonScripts.Running target = PythonScripts.startUnderShell(py, script, lib.toString())) {
            Sampler sampler = Sampler.builder().nativeFrames(true).interval(Duration.ofMillis(5))
                    .duration(Duration.ofSeconds(3)).build();
            List<StackSample> inSpin = new ArrayList<>();
            try (SamplingSession s = sampler.attach(target.pid())) {
                s.forEach(x -> {
                    if (!x.frames().isEmpty() && x.frames().getFirst().function().equals("nocfi_spin")) {
                        inSpin.add(x);
                    }
                });
            }
            assumeTrue(!inSpin.isEmpty(), "no sample caught the thread in the C loop (a starved machine)");
            List<Frame> frames = inSpin.getFirst().frames();
            int caller = -1;
            for (int i = 0; i < frames.size(); i++) {
                if (frames.get(i).kind() == Frame.FrameKind.PYTHON && frames.get(i).function().equals("py_caller")) {
                    caller = i;
                    break;
                }
            }
            assertThat(caller).as("py_caller in %s", frames).isPositive();
            assertThat(frames.subList(1, caller)).as("libffi or ctypes frames between the loop and its caller: %s", frames)
                    .anyMatch(f -> f.kind() == Frame.FrameKind.NATIVE
                            && (f.library().startsWith("libffi") || f.library().startsWith("_ctypes")));
        }
    }
}
