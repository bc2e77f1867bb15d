package dev.spyglass.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * {@code spyglass trace} on a C library built here with gcc and loaded with ctypes.PyDLL (the GIL held) by pyenv
 * 3.9 - 3.13 and the Debian builds: {@code row_convert(3)} converts three "rows", each a string made by {@code row_text} (through
 * {@code PyUnicode_FromString}) turned into a float by {@code row_float} calling back into the interpreter's
 * {@code PyFloat_FromString} (the seed talk's case). The tree of one execution shows the calls nested and in order,
 * each call's self time plus its children's totals is its total, and children lie inside their parent's time.
 */
class TraceCliIT {
    static final String SOURCE = String.join("\n",
            "#include <stdio.h>",
            "typedef struct _object PyObject;",
            "extern PyObject *PyUnicode_FromString(const char *);",
            "extern PyObject *PyFloat_FromString(PyObject *);",
            "extern void Py_DecRef(PyObject *);",
            "__attribute__((noinline)) PyObject *row_text(int i) {",
            "    char b[32]; snprintf(b, sizeof b, \"%d.5\", i); return PyUnicode_FromString(b); }",
            "__attribute__((noinline)) PyObject *row_float(PyObject *s) { return PyFloat_FromString(s); }",
            "__attribute__((noinline)) int row_convert(int n) {",
            "    for (int i = 0; i < n; i++) { PyObject *s = row_text(i); PyObject *f = row_float(s);",
            "        Py_DecRef(s); Py_DecRef(f); }",
            "    return n; }",
            "");
    static final String SCRIPT = String.join("\n",
            "import ctypes, sys, time",
            "lib = ctypes.PyDLL(sys.argv[1])",
            "sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "while True:",
            "    lib.row_convert(3)",
            "    time.sleep(0.005)",
            "");
    /** Rows converted by a Python callback: the C code calls py_convert (line 3 of the script) through the C API. */
    static final String CALLBACK_SOURCE = String.join("\n",
            "#include <stdio.h>",
            "typedef struct _object PyObject;",
            "extern PyObject *PyUnicode_FromString(const char *);",
            "extern PyObject *PyObject_CallFunctionObjArgs(PyObject *, ...);",
            "extern void Py_DecRef(PyObject *);",
            "__attribute__((noinline)) PyObject *row_text(int i) {",
            "    char b[32]; snprintf(b, sizeof b, \"%d.5\", i); return PyUnicode_FromString(b); }",
            "__attribute__((noinline)) PyObject *row_call(PyObject *cb, PyObject *s) {",
            "    return PyObject_CallFunctionObjArgs(cb, s, (PyObject *) 0); }",
            "__attribute__((noinline)) int rows_cb(PyObject *cb, int n) {",
            "    for (int i = 0; i < n; i++) { PyObject *s = row_text(i); PyObject *f = row_call(cb, s);",
            "        Py_DecRef(s); Py_DecRef(f); }",
            "    return n; }",
            "");
    static final String CALLBACK_SCRIPT = String.join("\n",
            "import ctypes, sys, time",
            "",
            "def py_convert(s):",
            "    return s + '0'",
            "",
            "lib = ctypes.PyDLL(sys.argv[1])",
            "lib.rows_cb.argtypes = [ctypes.py_object, ctypes.c_int]",
            "sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "while True:",
            "    lib.rows_cb(py_convert, 2)",
            "    time.sleep(0.005)",
            "");
    static final Pattern LINE = Pattern.compile("^( +)(.+?)  total ([0-9.]+) µs  self ([0-9.]+) µs  at \\+([0-9.]+) µs$");

    @TempDir
    Path dir;

    record Node(int depth, String name, double total, double self, double start) {
    }

    @ForEachPython
    void pythonCallbacksShowTheFunctionRunOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(LatencyCliIT.probeable(py), LatencyCliIT.PROBED);
        UprobeTargets.assumeRoot();
        LatencyCliIT.assumePythonCallsProbeable(py);
        Path lib = UprobeTargets.buildLibrary(dir, "rowscb", CALLBACK_SOURCE);
        Path script = dir.resolve("rowscb.py");
        Files.writeString(script, CALLBACK_SCRIPT);
        Process target = py.processBuilder(script.toString(), lib.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            UprobeTargets.awaitReady(py, target);
            Path txt = dir.resolve("cb.txt");
            SpyglassCliIT.Result r = SpyglassCliIT.run(SpyglassCliIT.cli("trace", "-p", Long.toString(target.pid()),
                    "--trigger", "rows_cb", "--functions", "row_text,row_call", "--python-calls", "-d", "30s",
                    "-o", txt.toString()), 90);
            assertThat(r.exit()).as(r.toString()).isZero();
            String tree = Files.readString(txt);
            System.out.println(py.label() + ":\n" + tree);
            List<String> names = new ArrayList<>();
            for (String line : tree.lines().toList()) {
                Matcher m = LINE.matcher(line);
                if (m.matches()) {
                    names.add(m.group(1) + m.group(2));
                }
            }
            String python = "py_convert (" + script + ":3)";
            assertThat(names).as(tree).containsExactly(
                    "  rows_cb",
                    "    row_text", "    row_call", "      " + python,
                    "    row_text", "    row_call", "      " + python);
            Path json = dir.resolve("cb.json");
            r = SpyglassCliIT.run(SpyglassCliIT.cli("trace", "-p", Long.toString(target.pid()), "--trigger",
                    "rows_cb", "--functions", "row_call", "--python-calls", "-d", "30s", "-o", json.toString()), 90);
            assertThat(r.exit()).as(r.toString()).isZero();
            assertThat(Files.readString(json)).contains("\"python\":{\"function\":\"py_convert\",\"file\":\""
                    + script + "\",\"line\":3}");
        } finally {
            target.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    @ForEachPython
    void theTreeOfOneExecutionShowsTheNestedCallsInOrderOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(LatencyCliIT.probeable(py), LatencyCliIT.PROBED);
        UprobeTargets.assumeRoot();
        Path lib = UprobeTargets.buildLibrary(dir, "rows", SOURCE);
        Path script = dir.resolve("rows.py");
        Files.writeString(script, SCRIPT);
        Process target = py.processBuilder(script.toString(), lib.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            UprobeTargets.awaitReady(py, target);
            Path txt = dir.resolve("tree.txt");
            SpyglassCliIT.Result r = SpyglassCliIT.run(SpyglassCliIT.cli("trace", "-p", Long.toString(target.pid()),
                    "--trigger", "row_convert", "--functions", "row_*,PyFloat_FromString", "--count", "1", "-d", "30s",
                    "-o", txt.toString()), 90);
            assertThat(r.exit()).as(r.toString()).isZero();
            String tree = Files.readString(txt);
            System.out.println(py.label() + ":\n" + tree);
            List<Node> nodes = new ArrayList<>();
            for (String line : tree.lines().toList()) {
                Matcher m = LINE.matcher(line);
                if (m.matches()) {
                    nodes.add(new Node(m.group(1).length() / 2, m.group(2), Double.parseDouble(m.group(3)),
                            Double.parseDouble(m.group(4)), Double.parseDouble(m.group(5))));
                }
            }
            assertThat(nodes).extracting(x -> "  ".repeat(x.depth()) + x.name()).as(tree).containsExactly(
                    "  row_convert",
                    "    row_text", "    row_float", "      PyFloat_FromString",
                    "    row_text", "    row_float", "      PyFloat_FromString",
                    "    row_text", "    row_float", "      PyFloat_FromString");
            for (int i = 0; i < nodes.size(); i++) {
                Node parent = nodes.get(i);
                double children = 0;
                double previousEnd = parent.start();
                for (int j = i + 1; j < nodes.size() && nodes.get(j).depth() > parent.depth(); j++) {
                    Node c = nodes.get(j);
                    if (c.depth() == parent.depth() + 1) {
                        children += c.total();
                        assertThat(c.start()).as(tree).isGreaterThanOrEqualTo(previousEnd - 0.1);
                        previousEnd = c.start() + c.total();
                    }
                }
                assertThat(parent.self() + children).as("self + children = total: " + tree)
                        .isCloseTo(parent.total(), within(0.1 * (1 + nodes.size())));
                assertThat(previousEnd).as("children inside their parent: " + tree)
                        .isLessThanOrEqualTo(parent.start() + parent.total() + 0.2);
                assertThat(parent.total()).isPositive();
            }
            Path html = dir.resolve("tree.html");
            r = SpyglassCliIT.run(SpyglassCliIT.cli("trace", "-p", Long.toString(target.pid()), "--trigger",
                    "row_convert", "--functions", "row_float,PyFloat_FromString", "-d", "30s", "-o", html.toString()), 90);
            assertThat(r.exit()).as(r.toString()).isZero();
            String page = Files.readString(html);
            assertThat(page).startsWith("<!DOCTYPE html>").contains("title=\"row_convert: total ")
                    .contains("title=\"PyFloat_FromString: total ").contains("top:40px").doesNotContain("<script");
        } finally {
            target.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }
}
