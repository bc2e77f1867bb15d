package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Assumptions;

import dev.spyglass.elf.ElfFile;
import dev.spyglass.internal.nativeframes.NativeTargets;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * {@link FunctionProbes} on a small C library built here with gcc and called in a loop through ctypes by a
 * pyenv 3.9 - 3.13 interpreter: {@code outer()} calls {@code inner()} twice (both noinline, so each has an entry to
 * probe). The events of one thread come in order with their depths, an exit carries its duration, a missing symbol
 * lists the closest names, and the breakpoint (an int3 at the function's first byte) is gone once the probes close.
 */
class FunctionProbesTest {
    static final String SOURCE = String.join("\n",
            "#include <unistd.h>",
            "__attribute__((noinline)) void spy_inner(void) { usleep(100); __asm__ volatile(\"\"); }",
            "__attribute__((noinline)) void spy_outer(void) { spy_inner(); spy_inner(); __asm__ volatile(\"\"); }",
            "");
    static final String SCRIPT = String.join("\n",
            "import ctypes, os, sys, time",
            "lib = ctypes.CDLL(sys.argv[1])",
            "sys.stdout.write('ready %d\\n' % os.getpid()); sys.stdout.flush()",
            "while True:",
            "    lib.spy_outer()",
            "    time.sleep(0.002)",
            "");

    static boolean probeable(PythonInterpreter py) {
        return py.origin() == PythonInterpreter.Origin.PYENV && py.atLeast(3, 9) && !py.atLeast(3, 14);
    }

    @ForEachPython
    void deliversNestedCallsInOrderAndLeavesNoProbe(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(probeable(py), "function probes are tested on pyenv 3.9 - 3.13");
        Assumptions.assumeTrue(Sampler.pageFaultsRefusal().isEmpty(), "perf events not permitted here");
        Path lib = NativeTargets.buildLibrary("spyprobe", SOURCE);
        Path script = PythonScripts.write("spyprobe.py", SCRIPT);
        try (PythonScripts.Running target = PythonScripts.start(py, script, lib.toString())) {
            long address = address(target.pid(), lib, "spy_outer");
            byte original = byteAt(target.pid(), address);
            List<CallEvent> events = new ArrayList<>();
            try (FunctionProbes p = FunctionProbes.attach(target.pid(), List.of(
                    ProbedFunction.named("spy_outer", "libspyprobe"), ProbedFunction.named("spy_inner", lib.toString())))) {
                assertThat(p.symbols()).containsExactly("spy_outer", "spy_inner");
                assertThat(byteAt(target.pid(), address)).as("int3 while probed").isEqualTo((byte) 0xCC);
                long deadline = System.nanoTime() + 20_000_000_000L;
                while (System.nanoTime() < deadline && events.stream().filter(e -> e.function() == 0
                        && e.kind() == CallEvent.Kind.EXIT && e.durationNanos() >= 0).count() < 5) {
                    p.poll(events::add);
                    Thread.sleep(10);
                }
                assertThat(p.hits(0)).isPositive();
            }
            assertThat(byteAt(target.pid(), address)).as("probes gone after close").isEqualTo(original);
            // From the first complete outer call: outer, inner, inner, back out, in that order and depth.
            int first = -1;
            for (int i = 0; i < events.size() && first < 0; i++) {
                if (events.get(i).function() == 0 && events.get(i).kind() == CallEvent.Kind.ENTRY) {
                    first = i;
                }
            }
            assertThat(first).as(py.label() + ": an outer entry among %s", events).isNotNegative();
            List<String> seq = new ArrayList<>();
            for (CallEvent e : events.subList(first, first + 6)) {
                seq.add(e.kind() + " " + e.symbol() + " " + e.depth());
            }
            assertThat(seq).as(py.label() + " " + events.subList(0, Math.min(40, events.size()))).containsExactly("ENTRY spy_outer 0", "ENTRY spy_inner 1", "EXIT spy_inner 1",
                    "ENTRY spy_inner 1", "EXIT spy_inner 1", "EXIT spy_outer 0");
            List<CallEvent> call = events.subList(first, first + 6);
            assertThat(call).extracting(CallEvent::tid).containsOnly(call.get(0).tid());
            long inner = call.get(2).durationNanos() + call.get(4).durationNanos();
            assertThat(call.get(2).durationNanos()).isGreaterThanOrEqualTo(100_000L);
            assertThat(call.get(5).durationNanos()).isGreaterThanOrEqualTo(inner);
            assertThat(call.get(5).durationNanos()).isEqualTo(call.get(5).timeNanos() - call.get(0).timeNanos());

            assertThatThrownBy(() -> FunctionProbes.attach(target.pid(), List.of(ProbedFunction.named("spy_outr",
                    "libspyprobe")))).isInstanceOfSatisfying(SymbolNotFoundException.class, e -> {
                        assertThat(e.closestMatches()).first().isEqualTo("spy_outer");
                        assertThat(e.getMessage()).contains("closest: spy_outer");
                    });
            assertThatThrownBy(() -> FunctionProbes.attach(target.pid(), List.of(ProbedFunction.named("spy_outer",
                    "libnosuch")))).isInstanceOf(SymbolNotFoundException.class).hasMessageContaining("maps no object");
        }
    }

    /** {@code spy_cb(cb)} calls the Python function {@code py_cb} (line 3 of the script) through the C API. */
    static final String CALLBACK_SOURCE = String.join("\n",
            "typedef struct _object PyObject;",
            "extern PyObject *PyObject_CallObject(PyObject *, PyObject *);",
            "extern void Py_DecRef(PyObject *);",
            "__attribute__((noinline)) void spy_cb(PyObject *cb) {",
            "    PyObject *r = PyObject_CallObject(cb, (PyObject *) 0); if (r) Py_DecRef(r); __asm__ volatile(\"\"); }",
            "");
    static final String CALLBACK_SCRIPT = String.join("\n",
            "import ctypes, os, sys, time",
            "",
            "class Rows:",
            "    def py_cb(self):",
            "        return 1",
            "",
            "lib = ctypes.PyDLL(sys.argv[1])",
            "lib.spy_cb.argtypes = [ctypes.py_object]",
            "cb = Rows().py_cb",
            "sys.stdout.write('ready %d\\n' % os.getpid()); sys.stdout.flush()",
            "while True:",
            "    lib.spy_cb(cb)",
            "    time.sleep(0.002)",
            "");

    @ForEachPython
    void namesThePythonFunctionACallbackRuns(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(probeable(py), "function probes are tested on pyenv 3.9 - 3.13");
        Assumptions.assumeTrue(Sampler.pageFaultsRefusal().isEmpty(), "perf events not permitted here");
        Path lib = NativeTargets.buildLibrary("spycb", CALLBACK_SOURCE);
        Path script = PythonScripts.write("spycb.py", CALLBACK_SCRIPT);
        try (PythonScripts.Running target = PythonScripts.start(py, script, lib.toString())) {
            List<CallEvent> events = new ArrayList<>();
            try (FunctionProbes p = FunctionProbes.attach(target.pid(), List.of(ProbedFunction.named("spy_cb",
                    "libspycb")), true)) {
                assertThat(p.symbols()).containsExactly("spy_cb", "_PyFunction_Vectorcall");
                long deadline = System.nanoTime() + 20_000_000_000L;
                while (System.nanoTime() < deadline && events.stream().filter(e -> e.function() == 0
                        && e.kind() == CallEvent.Kind.EXIT && e.durationNanos() >= 0).count() < 3) {
                    p.poll(events::add);
                    Thread.sleep(10);
                }
            }
            int first = -1;
            for (int i = 0; i < events.size() && first < 0; i++) {
                if (events.get(i).function() == 0 && events.get(i).kind() == CallEvent.Kind.ENTRY) {
                    first = i;
                }
            }
            assertThat(first).as(py.label() + ": a spy_cb entry among %s", events).isNotNegative();
            List<CallEvent> call = events.subList(first, first + 4);
            String python = "Rows.py_cb (" + script + ":4)";
            if (!py.atLeast(3, 11)) {
                python = "py_cb (" + script + ":4)"; // co_qualname is 3.11+
            }
            List<String> seq = new ArrayList<>();
            for (CallEvent e : call) {
                seq.add(e.kind() + " " + e.symbol() + " " + e.depth());
            }
            assertThat(seq).as(py.label() + " " + events.subList(0, Math.min(40, events.size()))).containsExactly(
                    "ENTRY spy_cb 0", "ENTRY " + python + " 1", "EXIT " + python + " 1", "EXIT spy_cb 0");
            assertThat(call.get(1).python()).isNotNull();
            assertThat(call.get(1).python().function()).isEqualTo("py_cb");
            assertThat(call.get(1).python().file()).isEqualTo(script.toString());
            assertThat(call.get(1).python().line()).isEqualTo(4);
            assertThat(call.get(1).function()).isEqualTo(1);
            assertThat(call.get(0).python()).isNull();
        }
    }

    /** The run-time address of {@code symbol} of {@code lib} in {@code pid}: its mapping at offset 0 plus the value. */
    static long address(long pid, Path lib, String symbol) throws Exception {
        long base = -1;
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/maps"))) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 6 && f[5].equals(lib.toString()) && Long.parseLong(f[2], 16) == 0) {
                base = Long.parseUnsignedLong(f[0].substring(0, f[0].indexOf('-')), 16);
                break;
            }
        }
        assertThat(base).as("%s mapped", lib).isPositive();
        try (ElfFile elf = ElfFile.open(lib)) {
            return base + elf.symbol(symbol).orElseThrow().value();
        }
    }

    static byte byteAt(long pid, long address) throws Exception {
        try (RandomAccessFile mem = new RandomAccessFile("/proc/" + pid + "/mem", "r")) {
            mem.seek(address);
            return (byte) mem.read();
        }
    }
}
