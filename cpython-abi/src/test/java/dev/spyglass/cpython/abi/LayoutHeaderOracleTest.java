package dev.spyglass.cpython.abi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * A third oracle: the C compiler, given each interpreter's own installed headers. It is the one that
 * reaches the Debian 3.11.2 build (stripped, no debug offsets, but libpython3.11-dev installs its
 * internal headers), and, with one header edit, the 3.7.0 – 3.7.3 layout no interpreter here has.
 */
class LayoutHeaderOracleTest {

    private static final boolean GCC = LayoutGdbOracleTest.onPath("gcc");

    @ForEachPython
    void tableMatchesInstalledHeaders(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        assumeTrue(GCC, "gcc not on PATH");
        assumeTrue(!py.atLeast(3, 13), () -> py.label() + ": 3.13+ layouts come from _Py_DebugOffsets");
        Path include = Path.of(py.run("import sysconfig; print(sysconfig.get_paths()['include'])", 30).strip());
        assumeTrue(Files.isRegularFile(include.resolve("Python.h")), () -> py.label() + ": no headers at " + include);
        assumeTrue(py.major() == 2 || py.minor() <= 6 || Files.isDirectory(include.resolve("internal")),
                () -> py.label() + ": no internal headers at " + include);
        PythonVersion version = PythonVersion.parse(py.version()).orElseThrow();
        Layout layout = Layouts.forVersion(version);
        assertMatches(layout, HeaderOracle.evaluate(include, present(layout, py.major(), py.minor())), include);
    }

    /**
     * 3.7.4 changed PyGC_Head's alignment member from {@code double} to {@code long double}
     * (bpo-27987, GH-13335 re-applied by GH-13581). Compiling 3.7.16's headers with that one line
     * reverted gives 3.7.0 – 3.7.3's {@code _PyRuntime}; the table's 3.7.3 override must match it.
     */
    @Test
    void python37BeforePatch4MatchesHeadersWithGh13335Reverted() throws Exception {
        assumeTrue(GCC, "gcc not on PATH");
        Path original = Path.of(System.getProperty("user.home"), ".pyenv/versions/3.7.16/include/python3.7m");
        assumeTrue(Files.isDirectory(original.resolve("internal")), "no pyenv 3.7.16 headers");
        Path copy = Files.createTempDirectory("spyglass-py373-");
        try {
            try (Stream<Path> files = Files.walk(original)) {
                for (Path p : files.toList()) {
                    Path to = copy.resolve(original.relativize(p).toString());
                    if (Files.isDirectory(p)) {
                        Files.createDirectories(to);
                    } else {
                        Files.copy(p, to);
                    }
                }
            }
            Path objimpl = copy.resolve("objimpl.h");
            String text = Files.readString(objimpl);
            assertThat(text).contains("long double dummy;");
            Files.writeString(objimpl, text.replace("long double dummy;", "double dummy;"));

            Layout layout = Layouts.forVersion(PythonVersion.of(3, 7, 3));
            assertThat(layout.source()).isEqualTo("built-in table 3.7.0-3.7.3");
            Map<Field, Long> truth = HeaderOracle.evaluate(copy, present(layout, 3, 7));
            assertMatches(layout, truth, copy);
            // And the change is real: 3.7.4+ differs exactly in the fields behind _PyRuntime.gc.
            Layout later = Layouts.forVersion(PythonVersion.of(3, 7, 4));
            List<Field> differing = new ArrayList<>();
            for (Field f : Field.values()) {
                if (layout.offset(f) != later.offset(f)) {
                    differing.add(f);
                }
            }
            assertThat(differing).containsExactly(Field.RUNTIME_TSTATE_CURRENT, Field.RUNTIME_GIL_LAST_HOLDER,
                    Field.RUNTIME_GIL_LOCKED, Field.RUNTIME_GC_COLLECTING);
        } finally {
            try (Stream<Path> files = Files.walk(copy)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    /** The expressions for the fields {@code layout} has, except those C cannot express. */
    private static Map<Field, String> present(Layout layout, int major, int minor) {
        Map<Field, String> all = GdbOracle.expressions(major, minor);
        Map<Field, String> e = new EnumMap<>(Field.class);
        for (Field f : Field.values()) {
            if (layout.has(f) && all.containsKey(f) && !onlyInSources(f, major, minor)) {
                e.put(f, all.get(f));
            }
        }
        return e;
    }

    /**
     * Up to 3.10, PyModuleObject (Objects/moduleobject.c) and PyDictKeysObject (Objects/dict-common.h) are
     * not in any installed header: gdb and the self-inspection oracle check those fields.
     */
    private static boolean onlyInSources(Field f, int major, int minor) {
        boolean old = major == 2 || minor <= 10;
        return old && (f == Field.MODULE_DICT || f.name().startsWith("DICTKEYS_"));
    }

    private static void assertMatches(Layout layout, Map<Field, Long> truth, Path include) {
        List<String> problems = new ArrayList<>();
        truth.forEach((f, v) -> {
            if (layout.offset(f) != v) {
                problems.add(f + " = " + layout.offset(f) + " but the compiler says " + v);
            }
        });
        assertThat(problems).as("%s vs headers in %s", layout.source(), include).isEmpty();
        assertThat(truth.size()).as("fields checked").isGreaterThan(25);
    }
}
