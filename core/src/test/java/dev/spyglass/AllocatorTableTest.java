package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;

import org.junit.jupiter.api.Assumptions;

import dev.spyglass.elf.ElfFile;
import dev.spyglass.elf.Symbol;
import dev.spyglass.internal.leaks.AllocatorTable;
import dev.spyglass.internal.leaks.ProbePoints;
import dev.spyglass.internal.python.Target;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * {@link AllocatorTable} and the table route of {@link ProbePoints#forTarget} on the stripped Debian builds, in live
 * targets with and without tracemalloc. The oracle for the table found: tracemalloc's hook table keeps, as its
 * context, a pointer to its saved copy of the previous table, whose {@code malloc} is the default that the
 * exported function compares with. A program that never calls tracemalloc, started with {@code PYTHONTRACEMALLOC=1}
 * as the caveat of the default table advises, is probed through the table too.
 */
class AllocatorTableTest {
    static final String SCRIPT = String.join("\n",
            "import os, sys, tracemalloc",
            "if sys.argv[1] == 'hooked': tracemalloc.start(1)",
            "sys.stdout.write('ready %d\\n' % os.getpid()); sys.stdout.flush()",
            "sys.stdin.readline()",
            "");

    @ForEachPython
    void findsTheHookedTableAndTheDefaultOneThatInlinedCopiesBypassOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(py.atLeast(3, 11), "the table route is used on the stripped Debian builds (3.11+)");
        Assumptions.assumeFalse(py.freeThreaded(), "free-threaded builds allocate with mimalloc");
        try (ElfFile elf = ElfFile.open(py.libpython().orElse(py.executable()))) {
            Assumptions.assumeTrue(elf.symbol("_PyObject_Malloc").filter(Symbol::isDefined).isEmpty(),
                    py.label() + " has _PyObject_Malloc in its symbols: probed by name, not through the table");
        }
        Path script = PythonScripts.write("tables.py", SCRIPT);
        // "started": the program never calls tracemalloc, it is started as the caveat advises (PYTHONTRACEMALLOC)
        for (String mode : new String[] {"default", "hooked", "started"}) {
            ProcessBuilder b = py.processBuilder(script.toString(), mode).redirectError(ProcessBuilder.Redirect.DISCARD);
            if (mode.equals("started")) {
                b.environment().put("PYTHONTRACEMALLOC", "1");
            } else {
                b.environment().remove("PYTHONTRACEMALLOC");
            }
            try (PythonScripts.Running target = PythonScripts.awaitReady(py, b.start(), script);
                    Target t = Target.attach(target.pid())) {
                Path file = Path.of(t.interpreter().objectPath());
                for (boolean raw : new boolean[] {false, true}) {
                    String exported = raw ? "PyMem_Raw" : "PyObject_";
                    AllocatorTable table = table(t, file, exported);
                    ProbePoints p = ProbePoints.forTarget(t, file, raw);
                    String what = py.label() + " " + mode + " " + exported + ": " + table + " " + p;
                    assertThat(table.devirtualized()).as(what).isNotZero();
                    assertThat(table.malloc()).as(what).isNotZero();
                    assertThat(table.free()).as(what).isNotZero();
                    if (mode.equals("default")) {
                        assertThat(table.bypassed()).as(what).isTrue();
                        assertThat(p.allocSymbol()).as(what).isEqualTo(exported + "Malloc");
                        assertThat(p.caveat()).as(what).contains("inlined copies").contains("PYTHONTRACEMALLOC=1");
                    } else {
                        assertThat(table.bypassed()).as(what).isFalse();
                        // tracemalloc's context: its copy of the table it replaced, the default
                        assertThat(t.memory().readLong(table.ctx() + 8)).as(what).isEqualTo(table.devirtualized());
                        assertThat(p.fromAllocatorTable()).as(what).isTrue();
                        assertThat(p.sizeInSi()).as(what).isTrue();
                        assertThat(p.allocSymbol()).as(what)
                                .isEqualTo((raw ? "raw" : "obj") + ".malloc@0x" + Long.toHexString(table.malloc()));
                        assertThat(p.caveat()).as(what).isEmpty();
                        // calls of other domains through the same hook (tracemalloc's free serves all three) are
                        // told apart by their context: obj's and mem's (both pymalloc) at the exact level, raw's
                        assertThat(p.contexts()).as(what).hasSize(raw ? 1 : 2).contains(table.ctx());
                        assertThat(p.accepts(table.ctx())).as(what).isTrue();
                        assertThat(p.accepts(table(t, file, raw ? "PyObject_" : "PyMem_Raw").ctx())).as(what)
                                .isFalse();
                    }
                }
                target.send("end");
            }
        }
    }

    private static AllocatorTable table(Target t, Path file, String exported) throws Exception {
        try (ElfFile elf = ElfFile.open(file)) {
            long bias = t.interpreter().loadBias();
            long malloc = bias + elf.dynamicSymbol(exported + "Malloc").orElseThrow().value();
            long free = bias + elf.dynamicSymbol(exported + "Free").orElseThrow().value();
            return AllocatorTable.find(t.memory(), malloc, free).orElseThrow(
                    () -> new AssertionError("no table behind " + exported + "Malloc in " + file));
        }
    }
}
