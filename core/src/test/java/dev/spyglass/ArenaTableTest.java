package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import org.junit.jupiter.api.Assumptions;

import dev.spyglass.elf.ElfFile;
import dev.spyglass.elf.Symbol;
import dev.spyglass.internal.leaks.ArenaPoints;
import dev.spyglass.internal.leaks.ArenaTable;
import dev.spyglass.internal.python.Target;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * The arena-table route ({@link ArenaTable}, {@link ArenaPoints#throughTable}) in live targets. Oracle: the target
 * calls {@code PyObject_GetArenaAllocator} itself through ctypes and prints the table's {@code ctx, alloc, free}; on
 * builds with symbols (pyenv), {@code alloc} and {@code free} must also be the functions the symbol route probes.
 * On a stripped build (Debian's 3.11) the coarse level must take this route.
 */
class ArenaTableTest {
    static final String SCRIPT = String.join("\n",
            "import ctypes, os, sys",
            "t = (ctypes.c_void_p * 3)()",
            "ctypes.pythonapi.PyObject_GetArenaAllocator.restype = None",
            "ctypes.pythonapi.PyObject_GetArenaAllocator(ctypes.byref(t))",
            "sys.stdout.write('ready %d %d %d %d\\n' % (os.getpid(), t[0] or 0, t[1] or 0, t[2] or 0))",
            "sys.stdout.flush()",
            "sys.stdin.readline()",
            "");

    @ForEachPython
    void readsTheArenaTableTheGetterCopiesOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(py.atLeast(3, 6), "allocation probes: 3.6+");
        Assumptions.assumeFalse(py.freeThreaded(), "free-threaded builds serve small objects from mimalloc");
        Path script = PythonScripts.write("arena_table.py", SCRIPT);
        ProcessBuilder b = py.processBuilder(script.toString()).redirectError(ProcessBuilder.Redirect.DISCARD);
        try (PythonScripts.Running target = PythonScripts.awaitReady(py, b.start(), script);
                Target t = Target.attach(target.pid())) {
            String[] f = target.readyLine().trim().split(" ");
            long ctx = Long.parseLong(f[2]);
            long alloc = Long.parseLong(f[3]);
            long free = Long.parseLong(f[4]);
            Path file = Path.of(t.interpreter().objectPath());
            long bias = t.interpreter().loadBias();
            try (ElfFile elf = ElfFile.open(Files.isReadable(file) ? file
                    : Path.of("/proc", Long.toString(target.pid()), "root", file.toString()))) {
                long entry = bias + elf.dynamicSymbol("PyObject_GetArenaAllocator").orElseThrow().value();
                Optional<ArenaTable.Contents> c = ArenaTable.read(t.memory(), entry);
                String what = py.label() + ": target says ctx 0x" + Long.toHexString(ctx) + " alloc 0x"
                        + Long.toHexString(alloc) + " free 0x" + Long.toHexString(free) + "; read " + c;
                System.out.println(what);
                assertThat(c).as(what).isPresent();
                assertThat(c.get().ctx()).as(what).isEqualTo(ctx);
                assertThat(c.get().alloc()).as(what).isEqualTo(alloc).isNotZero();
                assertThat(c.get().free()).as(what).isEqualTo(free).isNotZero();
                ArenaPoints.Found viaTable = ArenaPoints.throughTable(t, file, "");
                ArenaPoints.Found chosen = ArenaPoints.find(t, file);
                assertThat(viaTable.points()).as(what + " " + viaTable.reason()).isPresent();
                ArenaPoints p = viaTable.points().get();
                assertThat(p.route()).isEqualTo(ArenaPoints.TABLE_ROUTE);
                assertThat(p.allocSymbol()).isEqualTo("arena.alloc@0x" + Long.toHexString(alloc));
                boolean renamed = py.atLeast(3, 12);
                Optional<Symbol> byName = elf.symbol(renamed ? "_PyMem_ArenaAlloc" : "_PyObject_ArenaMmap");
                Optional<Symbol> freeByName = elf.symbol(renamed ? "_PyMem_ArenaFree" : "_PyObject_ArenaMunmap");
                if (byName.isPresent()) { // the symbol route is chosen, and the table route agrees with it
                    assertThat(alloc).as(what).isEqualTo(bias + byName.get().value());
                    assertThat(free).as(what).isEqualTo(bias + freeByName.orElseThrow().value());
                    ArenaPoints s = chosen.points().orElseThrow();
                    assertThat(s.route()).isEmpty();
                    assertThat(p.allocOffset()).as(what).isEqualTo(s.allocOffset());
                    assertThat(p.freeOffset()).as(what).isEqualTo(s.freeOffset());
                } else { // stripped: the table route is chosen
                    assertThat(chosen.points()).as(what + " " + chosen.reason()).contains(p);
                    assertThat(p.allocOffset()).as(what).isEqualTo(elf.vaddrToFileOffset(alloc - bias));
                    assertThat(p.freeOffset()).as(what).isEqualTo(elf.vaddrToFileOffset(free - bias));
                }
            }
            target.send("end");
        }
    }
}
