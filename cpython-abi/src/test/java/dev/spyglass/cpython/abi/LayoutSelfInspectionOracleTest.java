package dev.spyglass.cpython.abi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * A second, independent oracle that needs no debug info: each interpreter reads its own memory with
 * {@code ctypes} at the offsets of the layout Spyglass would use for it and compares what it finds with
 * the C API and with Python objects ({@code id(sys.modules)}, {@code threading.get_native_id()}, the
 * current code object, a suspended generator's {@code f_lasti}, a {@code str} subclass's data pointer,
 * ...). It covers the stripped Debian builds (3.11.2 from {@code /usr/bin}, 3.13 and 3.14 unpacked), for
 * which gdb has nothing to read.
 */
class LayoutSelfInspectionOracleTest {

    /** Fields a process cannot observe about itself through ctypes; gdb checks them on pyenv builds. */
    private static final Set<Field> NOT_OBSERVABLE = EnumSet.of(Field.SIZEOF_INTERP, Field.SIZEOF_TSTATE,
            Field.SIZEOF_IFRAME, Field.FRAME_LINENO, Field.IFRAME_STACKTOP, Field.IFRAME_STACKPOINTER,
            Field.INTERP_CODE_OBJECT_GENERATION, Field.IFRAME_TLBC_INDEX, Field.CODE_TLBC,
            // 0 except while the collector runs: GarbageCollectionTest (core) sees it set.
            Field.INTERP_GC_COLLECTING, Field.RUNTIME_GC_COLLECTING,
            // NULL in a running interpreter: InterpreterShutdownTest (core) sees it set at exit.
            Field.RUNTIME_FINALIZING,
            // Need a sub-interpreter module, which 2.7 - 3.7 lack: checked when the module exists.
            Field.INTERP_NEXT, Field.INTERP_ID,
            // The links of 3.14's per-thread asyncio task lists: AsyncTasksTest (core) follows them.
            Field.LLIST_NEXT);

    @ForEachPython
    void layoutMatchesWhatTheInterpreterSeesOfItself(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        assumeTrue(!py.atLeast(3, 13) || LayoutGdbOracleTest.onPath("objcopy"),
                "objcopy (binutils) must be on PATH to read .PyRuntime");
        PythonVersion version = PythonVersion.parse(py.version()).orElseThrow();
        version = new PythonVersion(version.major(), version.minor(), version.micro(), version.releaseLevel(),
                version.serial(), py.freeThreaded());
        Layout layout = py.atLeast(3, 13)
                ? DebugOffsets.parse(PyRuntimeSection.read(py.interpreterObject()), version)
                : Layouts.forVersion(version);

        StringBuilder script = new StringBuilder("O = {");
        for (Field f : Field.values()) {
            if (layout.has(f)) {
                script.append("'").append(f).append("': ").append(layout.offset(f)).append(", ");
            }
        }
        script.append("}\nMAJOR, MINOR, FREE_THREADED = ").append(py.major()).append(", ").append(py.minor())
                .append(", ").append(py.freeThreaded() ? "True" : "False").append("\n");
        script.append(resource("self_inspect.py"));
        String out = py.run(script.toString(), 60);

        Map<String, String> results = new TreeMap<>();
        for (String line : out.split("\n")) {
            int sp = line.indexOf(' ');
            if (sp > 0) {
                results.put(line.substring(0, sp), line.substring(sp + 1));
            }
        }
        Map<String, String> bad = new LinkedHashMap<>();
        results.forEach((k, v) -> {
            if (!v.equals("ok")) {
                bad.put(k, v);
            }
        });
        assertThat(bad).as("%s: fields whose offsets disagree with the running interpreter (%s)", py.label(),
                layout.source()).isEmpty();

        Set<String> missing = new TreeSet<>();
        for (Field f : Field.values()) {
            if (layout.has(f) && !NOT_OBSERVABLE.contains(f) && !results.containsKey(f.name())
                    && !notObservableIn(py, f)) {
                missing.add(f.name());
            }
        }
        assertThat(missing).as("%s: fields the self-inspection did not check", py.label()).isEmpty();
        if (py.atLeast(3, 8)) {
            assertThat(results).as("sub-interpreter checks").containsEntry("INTERP_NEXT", "ok")
                    .containsEntry("INTERP_ID", "ok");
        }
    }

    private static boolean notObservableIn(PythonInterpreter py, Field f) {
        // 3.11+: code objects have no Python-visible sizeof(PyCodeObject) (tp_basicsize stops at
        // co_code_adaptive, checked instead). 3.14: FRAME_OWNED_BY_CSTACK frames no longer occur on the
        // main thread's chain (entry frames are FRAME_OWNED_BY_INTERPRETER). Free-threaded 3.14 reshaped
        // PyASCIIObject.state.
        return (f == Field.SIZEOF_CODE && py.atLeast(3, 11))
                || (f == Field.CONST_FRAME_OWNED_BY_CSTACK && py.atLeast(3, 14))
                || (f == Field.UNICODE_STATE && py.atLeast(3, 14) && py.freeThreaded());
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = LayoutSelfInspectionOracleTest.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException("missing test resource " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
