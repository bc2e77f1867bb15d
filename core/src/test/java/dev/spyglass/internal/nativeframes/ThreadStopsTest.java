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

    /**
     * A main thread that has ended while the process lives on ({@code pthread_exit} from Python's main thread, through
     * ctypes; the state an exiting target's main thread is in at a session's last look): the kernel refuses to seize
     * it with EPERM, which is not a refusal to trace the process. It is left out of the look, the other thread is
     * stopped and captured, and no access error is raised (it was: "native frames need to stop threads with ptrace:
     * not allowed", at the end of a launched target's recording).
     */
    @ForEachPython
    void anEndedMainThreadIsLeftOutNotRefusedOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        NativeTargets.assumePtrace();
        Path script = PythonScripts.write("mainexits.py", String.join("\n",
                "import ctypes, os, sys, threading, time",
                "def worker():",
                "    sys.stdout.write('ready %d %d\\n' % (os.getpid(), ctypes.CDLL(None).syscall(186)))",
                "    sys.stdout.flush()",
                "    time.sleep(60)",
                "t = threading.Thread(target=worker)",
                "t.start()",
                "time.sleep(0.2)",
                "ctypes.CDLL(None).pthread_exit(None)",
                ""));
        try (PythonScripts.Running target = PythonScripts.startUnderShell(py, script)) {
            String[] ready = target.readyLine().split(" ");
            int pid = Integer.parseInt(ready[1]);
            int worker = Integer.parseInt(ready[2].trim());
            Path mainStat = Path.of("/proc", Integer.toString(pid), "task", Integer.toString(pid), "stat");
            long deadline = System.nanoTime() + 20_000_000_000L;
            String stat = "";
            while (System.nanoTime() < deadline) {
                stat = Files.readString(mainStat);
                if (stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z")) {
                    break;
                }
                Thread.sleep(10);
            }
            org.junit.jupiter.api.Assumptions.assumeTrue(stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z"),
                    py.label() + ": the main thread did not end with pthread_exit: " + stat);
            // The ended leader has no memory any more (its maps read empty): the process's memory is the worker's.
            try (RemoteMemory memory = RemoteMemory.open(worker, ProcessMap.read(worker).firstReadableAddress());
                    ThreadStops stop = new ThreadStops(memory, pid, 64 * 1024, new StopTimeHistogram())) {
                stop.stop(new int[] {pid, worker}, 2);
                stop.resume();
                assertThat(stop.captured(0)).as("%s: the ended main thread", py.label()).isFalse();
                assertThat(stop.captured(1)).as("%s: the living worker", py.label()).isTrue();
            }
            assertThat(Files.readString(Path.of("/proc", Integer.toString(pid), "task", Integer.toString(worker),
                    "status"))).as("worker left running, not traced").contains("TracerPid:\t0");
        }
    }
}
