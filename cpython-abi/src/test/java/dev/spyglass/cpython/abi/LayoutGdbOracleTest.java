package dev.spyglass.cpython.abi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.stream.Stream;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * Checks every field of the layout Spyglass would use for each pyenv interpreter against gdb reading the
 * interpreter's own DWARF: built-in tables for 2.7 – 3.12, the on-disk {@code _Py_DebugOffsets} for 3.13+
 * (so for pyenv 3.13.0 both oracles must agree). Fields the table marks absent must also be absent in the
 * C structs, apart from the documented exceptions below.
 */
class LayoutGdbOracleTest {

    /** Not expressible as a C expression: checked by {@link LayoutSelfInspectionOracleTest}. */
    private static final Set<Field> RUNTIME_ONLY = EnumSet.of(Field.CONST_LASTI_MULTIPLIER,
            // Macros and inline-function arithmetic: not in DWARF.
            Field.CONST_MANAGED_DICT_BEFORE, Field.CONST_MANAGED_VALUES_BEFORE, Field.CONST_TPFLAGS_MANAGED_DICT,
            Field.CONST_TPFLAGS_INLINE_VALUES);

    static boolean onPath(String tool) {
        return Stream.of(System.getenv("PATH").split(":")).anyMatch(d -> Files.isExecutable(Path.of(d, tool)));
    }

    /** Whether the ELF file has a {@code .debug_info} section (objdump -h lists section names). */
    static boolean hasDwarf(Path elf) throws IOException, InterruptedException {
        if (!onPath("objdump")) {
            return false;
        }
        Process p = new ProcessBuilder("objdump", "-h", elf.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        return p.waitFor() == 0 && out.contains(" .debug_info ");
    }

    @ForEachPython
    void layoutMatchesDwarf(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        assumeTrue(onPath("gdb") && onPath("objcopy"), "gdb and objcopy (binutils) must be on PATH");
        // pyenv builds and the free-threaded one built from source (scripts/build-freethreaded-python.sh,
        // compiled with -g) carry DWARF; the Debian builds are stripped.
        assumeTrue(py.origin() == PythonInterpreter.Origin.PYENV || hasDwarf(py.interpreterObject()),
                () -> py.label() + ": no DWARF in " + py.interpreterObject() + " for gdb");
        PythonVersion version = PythonVersion.parse(py.version()).orElseThrow();
        Layout layout = py.atLeast(3, 13)
                ? DebugOffsets.parse(PyRuntimeSection.read(py.interpreterObject()), version)
                : Layouts.forVersion(version);

        Map<Field, String> expressions = GdbOracle.expressions(py.major(), py.minor());
        Map<Field, OptionalLong> gdb = GdbOracle.evaluate(py.interpreterObject(), expressions);

        List<String> problems = new ArrayList<>();
        int checked = 0;
        for (Field f : Field.values()) {
            OptionalLong truth = gdb.getOrDefault(f, OptionalLong.empty());
            if (layout.has(f)) {
                if (RUNTIME_ONLY.contains(f)) {
                    continue;
                }
                if (!expressions.containsKey(f)) {
                    problems.add(f + " = " + layout.offset(f) + " has no gdb oracle");
                } else if (truth.isEmpty()) {
                    problems.add(f + " = " + layout.offset(f) + " but gdb cannot evaluate " + expressions.get(f));
                } else if (truth.getAsLong() != layout.offset(f)) {
                    problems.add(f + " = " + layout.offset(f) + " but gdb says " + truth.getAsLong()
                            + " for " + expressions.get(f));
                } else {
                    checked++;
                }
            } else if (truth.isPresent() && !absentOnPurpose(py, f)) {
                problems.add(f + " is absent in " + layout.source() + " but gdb finds " + expressions.get(f)
                        + " = " + truth.getAsLong());
            }
        }
        assertThat(problems).as("%s (%s) vs gdb on %s", py.label(), layout.source(), py.interpreterObject())
                .isEmpty();
        assertThat(checked).as("fields checked").isGreaterThan(25);
    }

    // 3.10 has tstate->cframe, but it carries only use_tracing: frames are still found via tstate->frame,
    // so the table leaves TSTATE_CFRAME absent to keep the reader on the right path.
    private static boolean absentOnPurpose(PythonInterpreter py, Field f) {
        return py.major() == 3 && py.minor() == 10 && f == Field.TSTATE_CFRAME;
    }

    @ForEachPython
    void debugOffsetsOnDiskParse(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        assumeTrue(py.atLeast(3, 13), () -> py.label() + ": _Py_DebugOffsets exist from 3.13 on");
        assumeTrue(onPath("objcopy"), "objcopy (binutils) must be on PATH");
        PythonVersion version = PythonVersion.parse(py.version()).orElseThrow();
        Layout layout = DebugOffsets.parse(PyRuntimeSection.read(py.interpreterObject()), version);
        assertThat(layout.version().toString()).isEqualTo(py.version() + (py.freeThreaded() ? "t" : ""));
        assertThat(layout.version().freeThreaded()).isEqualTo(py.freeThreaded());
        assertThat(layout.offset(Field.OBJECT_TYPE)).isEqualTo(py.freeThreaded() ? 24 : 8);
        if (py.minor() <= 14) {
            assertThat(layout.offset(Field.CONST_FRAME_OWNED_BY_CSTACK)).isEqualTo(py.minor() == 13 ? 3 : 4);
        } else {
            // 3.15 removed FRAME_OWNED_BY_CSTACK; its table carries tp_basicsize and ht_cached_keys.
            assertThat(layout.has(Field.CONST_FRAME_OWNED_BY_CSTACK)).isFalse();
            if (!py.freeThreaded()) {
                assertThat(layout.offset(Field.TYPE_BASICSIZE)).isEqualTo(32);
                assertThat(layout.offset(Field.HEAPTYPE_CACHED_KEYS)).isEqualTo(888);
            }
        }
        assertThat(layout.offset(Field.CONST_STACKREF_TAG_MASK)).isEqualTo(py.minor() == 13 ? 0 : 3);
        assertThat(layout.has(Field.IFRAME_STACKTOP)).isEqualTo(py.minor() == 13);
        assertThat(layout.has(Field.IFRAME_STACKPOINTER)).isEqualTo(py.minor() >= 14);
    }
}
