package dev.spyglass.internal.nativeframes;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import dev.spyglass.PythonScripts;
import dev.spyglass.internal.os.ProcessMap;
import dev.spyglass.internal.os.RemoteMemory;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * A real interpreter's main thread, asleep under a few Python calls, stopped briefly with ptrace,
 * its stack copied and unwound afterwards through the objects' call-frame tables: the walk must go
 * from the sleeping system call through the eval loop to the outermost frame, and leave the thread
 * running.
 *
 * <p>The target runs under a shell, not as the JVM's own child: the JDK's process reaper waits for
 * its children with {@code waitpid(pid, 0)}, which would also collect a traced child's ptrace stops.
 */
class ThreadStopsTest {

    @ForEachPython
    void unwindsASleepingInterpreterFromTheSystemCallToTheOutermostFrame(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        NativeTargets.assumePtrace();
        Path script = PythonScripts.write("nativesleep.py", String.join("\n",
                "import os, sys, time",
                "def inner():",
                "    sys.stdout.write('ready %d\\n' % os.getpid()); sys.stdout.flush()",
                "    time.sleep(60)",
                "def outer(n):",
                "    if n == 0:",
                "        inner()",
                "    else:",
                "        outer(n - 1)",
                "outer(10)",
                ""));
        // Under a shell: the JDK's reaper would take the ptrace stops of the JVM's own child.
        try (PythonScripts.Running target = PythonScripts.startUnderShell(py, script)) {
            String ready = target.readyLine();
            assertThat(ready).as("target's first line").startsWith("ready ");
            int pid = Integer.parseInt(ready.substring(6).trim());
            Thread.sleep(50); // into time.sleep
            List<String> names = new ArrayList<>();
            NativeUnwinder.Result result;
            long stopped;
            try (RemoteMemory memory = RemoteMemory.open(pid, ProcessMap.read(pid).firstReadableAddress());
                    NativeObjects objects = new NativeObjects(ProcessMap.read(pid))) {
                StopTimeHistogram times = new StopTimeHistogram();
                try (ThreadStops stop = new ThreadStops(memory, pid, 256 * 1024, times)) {
                    stop.stop(new int[] {pid}, 1);
                    stop.resume();
                    assertThat(stop.captured(0)).as("the thread stopped").isTrue();
                    assertThat(times.count()).as("stops recorded").isEqualTo(1);
                    stopped = times.maxNanos();
                    result = new NativeUnwinder(objects, 512).unwind(stop.rip(0), stop.rsp(0), stop.rbp(0), stop.stack(0),
                            stop.rsp(0));
                }
                for (int i = 0; i < result.depth(); i++) {
                    long pc = result.pcs()[i];
                    String name = objects.find(pc).flatMap(o -> objects.symbolize(o, pc)).orElse("?");
                    names.add(name);
                }
            }
            String figures = String.format("%s: %d frames, %s (%s), stopped %.0f µs: %s", py.label(), result.depth(),
                    result.outcome(), result.reason(), stopped / 1e3, names);
            System.out.println(figures);
            assertThat(result.outcome()).as(figures).isEqualTo(NativeUnwinder.Outcome.COMPLETE);
            assertThat(names).as(figures).anyMatch(n -> n.equals("clock_nanosleep") || n.equals("__select")
                    || n.equals("select") || n.equals("__clock_nanosleep") || n.equals("nanosleep"));
            assertThat(names).as("symbol versions are dropped: %s", figures).noneMatch(n -> n.contains("@"));
            // A stripped build (Debian's: no .symtab, no debug file installed) names only its exported
            // functions; its eval loop's frames may be static parts (.cold, 3.14's tail-called opcodes).
            boolean evalNamed;
            try (dev.spyglass.elf.ElfFile elf = dev.spyglass.elf.ElfFile.open(py.interpreterObject())) {
                evalNamed = elf.section(".symtab").isPresent();
            }
            if (evalNamed) {
                assertThat(names).as(figures).anyMatch(n -> n.equals("_PyEval_EvalFrameDefault")
                        || n.equals("PyEval_EvalFrameEx") || n.startsWith("_PyEval_EvalFrame"));
            }
            assertThat(dev.spyglass.internal.os.Ptrace.tracerOf(pid, pid)).as("no tracer left on %d", pid).isZero();
            // Still running after the stop and the detach: it answers a signal-free probe of its state.
            String state = Files.readString(Path.of("/proc", Integer.toString(pid), "stat"));
            assertThat(state.substring(state.lastIndexOf(')') + 2, state.lastIndexOf(')') + 3)).as("state of %d", pid)
                    .isIn("S", "R");
        }
    }
}
