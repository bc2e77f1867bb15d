package dev.spyglass.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * {@code spyglass trace} on a real CPython extension module built here (gcc against the interpreter's own headers,
 * imported from a temporary directory), the "Done when": {@code rows.to_tuples(rows, convert)} turns each
 * row into a (float, converted) tuple by calling a C helper ({@code row_text}, the row as text), the
 * interpreter's {@code PyFloat_FromString}, and the Python callback {@code convert}. The tree of one call shows
 * these calls nested in order, the callback by its Python name, and times that add up.
 */
class TraceExtensionCliIT {
    static final String SOURCE = String.join("\n",
            "#define PY_SSIZE_T_CLEAN",
            "#include <Python.h>",
            "__attribute__((noinline)) PyObject *row_text(PyObject *row) { return PyObject_Str(row); }",
            "__attribute__((noinline)) PyObject *rows_to_tuples(PyObject *self, PyObject *args) {",
            "    PyObject *rows, *convert;",
            "    if (!PyArg_ParseTuple(args, \"OO\", &rows, &convert)) return NULL;",
            "    Py_ssize_t n = PySequence_Length(rows);",
            "    PyObject *out = n < 0 ? NULL : PyList_New(n);",
            "    if (!out) return NULL;",
            "    for (Py_ssize_t i = 0; i < n; i++) {",
            "        PyObject *row = PySequence_GetItem(rows, i);",
            "        PyObject *s = row ? row_text(row) : NULL;",
            "        PyObject *f = s ? PyFloat_FromString(s) : NULL;",
            "        PyObject *c = f ? PyObject_CallFunctionObjArgs(convert, f, NULL) : NULL;",
            "        PyObject *t = c ? PyTuple_Pack(2, f, c) : NULL;",
            "        Py_XDECREF(row); Py_XDECREF(s); Py_XDECREF(f); Py_XDECREF(c);",
            "        if (!t) { Py_DECREF(out); return NULL; }",
            "        PyList_SET_ITEM(out, i, t); }",
            "    return out; }",
            "static PyMethodDef methods[] = {",
            "    {\"to_tuples\", rows_to_tuples, METH_VARARGS, \"rows as (float, converted) tuples\"},",
            "    {NULL, NULL, 0, NULL}};",
            "static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, \"rows\", NULL, -1, methods};",
            "PyMODINIT_FUNC PyInit_rows(void) { return PyModule_Create(&module); }",
            "");
    /** {@code convert} is defined on line 4 (its co_firstlineno). The first call checks the module works before the trace. */
    static final String SCRIPT = String.join("\n",
            "import sys, time",
            "sys.path.insert(0, sys.argv[1])",
            "import rows",
            "def convert(f):",
            "    return f * 2",
            "assert rows.to_tuples(['1.5', 2], convert) == [(1.5, 3.0), (2.0, 4.0)]",
            "sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "while True:",
            "    rows.to_tuples(['1.5', 2], convert)",
            "    time.sleep(0.005)",
            "");

    @TempDir
    Path dir;

    /**
     * {@code dir}/ext/rows.so built against {@code py}'s headers; skipped with the reason where they are missing
     * (a Debian build without its -dev package, the provisioned trixie/sid builds).
     */
    static Path buildExtension(PythonInterpreter py, Path dir) throws Exception {
        String include = py.run("import sysconfig; print(sysconfig.get_paths()['include'])", 60).trim();
        Assumptions.assumeTrue(Files.isRegularFile(Path.of(include, "Python.h")), py.label() + ": no Python.h in "
                + include + " (the interpreter's C headers are not installed: on Debian, python3.X-dev)");
        Path ext = Files.createDirectories(dir.resolve("ext"));
        Path src = dir.resolve("rows.c");
        Files.writeString(src, SOURCE);
        Path so = ext.resolve("rows.so");
        Process gcc;
        try {
            // The parent too: Debian's pyconfig.h includes <x86_64-linux-gnu/python3.X/pyconfig.h>, found in /usr/include
            // for the system's build, beside the include directory for a provisioned one.
            gcc = new ProcessBuilder("gcc", "-shared", "-fPIC", "-O1", "-I", include, "-I",
                    Path.of(include).getParent().toString(), "-o", so.toString(), src.toString())
                    .redirectErrorStream(true).start();
        } catch (java.io.IOException e) {
            Assumptions.abort("no gcc on this machine");
            throw e;
        }
        String out = new String(gcc.getInputStream().readAllBytes());
        assertThat(gcc.waitFor(60, TimeUnit.SECONDS) && gcc.exitValue() == 0).as("gcc: %s", out).isTrue();
        return ext;
    }

    @ForEachPython
    void oneCallOfAnExtensionFunctionShowsItsNestedCallsAndTheCallbackOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(LatencyCliIT.probeable(py), LatencyCliIT.PROBED);
        UprobeTargets.assumeRoot();
        LatencyCliIT.assumePythonCallsProbeable(py);
        Path ext = buildExtension(py, dir);
        Path script = dir.resolve("rows_ext.py");
        Files.writeString(script, SCRIPT);
        Process target = py.processBuilder(script.toString(), ext.toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            UprobeTargets.awaitReady(py, target);
            Path txt = dir.resolve("ext.txt");
            SpyglassCliIT.Result r = SpyglassCliIT.run(SpyglassCliIT.cli("trace", "-p", Long.toString(target.pid()),
                    "--trigger", "rows_to_tuples", "--functions", "row_text,PyFloat_FromString", "--python-calls",
                    "-d", "30s", "-o", txt.toString()), 90);
            assertThat(r.exit()).as(r.toString()).isZero();
            String tree = Files.readString(txt);
            System.out.println(py.label() + ":\n" + tree);
            List<TraceCliIT.Node> nodes = new ArrayList<>();
            for (String line : tree.lines().toList()) {
                Matcher m = TraceCliIT.LINE.matcher(line);
                if (m.matches()) {
                    nodes.add(new TraceCliIT.Node(m.group(1).length() / 2, m.group(2), Double.parseDouble(m.group(3)),
                            Double.parseDouble(m.group(4)), Double.parseDouble(m.group(5))));
                }
            }
            String callback = "convert (" + script + ":4)";
            assertThat(nodes).extracting(x -> "  ".repeat(x.depth()) + x.name()).as(tree).containsExactly(
                    "  rows_to_tuples",
                    "    row_text", "    PyFloat_FromString", "    " + callback,
                    "    row_text", "    PyFloat_FromString", "    " + callback);
            assertTimesAddUp(nodes, tree);
        } finally {
            target.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    /**
     * Each call: total > 0, self >= 0, its children one after the other inside it, and its total at least their
     * sum (self = total - children, to the 0.1 µs the text rounds to).
     */
    static void assertTimesAddUp(List<TraceCliIT.Node> nodes, String tree) {
        for (int i = 0; i < nodes.size(); i++) {
            TraceCliIT.Node parent = nodes.get(i);
            double children = 0;
            double previousEnd = parent.start();
            for (int j = i + 1; j < nodes.size() && nodes.get(j).depth() > parent.depth(); j++) {
                TraceCliIT.Node c = nodes.get(j);
                if (c.depth() == parent.depth() + 1) {
                    children += c.total();
                    assertThat(c.start()).as("in order: " + tree).isGreaterThanOrEqualTo(previousEnd - 0.1);
                    previousEnd = c.start() + c.total();
                }
            }
            double slack = 0.1 * (1 + nodes.size());
            assertThat(parent.total()).as("total >= sum of children: " + tree).isPositive()
                    .isGreaterThanOrEqualTo(children - slack);
            assertThat(parent.self()).as("self >= 0: " + tree).isGreaterThanOrEqualTo(0);
            assertThat(parent.self() + children).as("self + children = total: " + tree)
                    .isCloseTo(parent.total(), org.assertj.core.api.Assertions.within(slack));
            assertThat(previousEnd).as("children inside their parent: " + tree)
                    .isLessThanOrEqualTo(parent.start() + parent.total() + 0.2);
        }
    }
}
