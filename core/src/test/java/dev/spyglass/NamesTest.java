package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/** Names as CPython stores them: every PEP 393 kind, 2.7 byte strings, qualified names. */
@Execution(ExecutionMode.CONCURRENT)
class NamesTest {

    @ForEachPython
    void nonAsciiFunctionAndFileNamesOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        String source = py.major() == 2 ? PythonScripts.NON_ASCII_27 : PythonScripts.NON_ASCII;
        // The folder name holds a character outside the BMP, so co_filename is a 4-byte-kind string;
        // the file name itself is Latin-1, the function names Latin-1 and BMP (1- and 2-byte kinds).
        Path dir = Files.createTempDirectory("spyglass-core-").resolve("𝔘𝔫𝔦");
        Files.createDirectories(dir);
        Path script = dir.resolve("tëst_ü.py");
        Files.writeString(script, source, StandardCharsets.UTF_8);
        try (PythonScripts.Running target = PythonScripts.start(py, script);
                PythonProcess proc = PythonProcess.attach(target.pid())) {
            List<String> oracle = new ArrayList<>();
            String[] parts = target.readyLine().strip().split(" ");
            for (int i = 1; i < parts.length; i++) {
                String[] nf = parts[i].split("@");
                oracle.add(utf8(nf[0]) + " @ " + utf8(nf[1]));
            }
            ThreadStack main = SnapshotTest.snapshotAtLine(proc, PythonScripts.lineOf(source, "# LEAF"));
            List<String> seen = main.frames().stream().map(f -> f.function() + " @ " + f.file()).toList();
            assertThat(seen).containsExactlyElementsOf(oracle);
            assertThat(seen.get(0)).endsWith("𝔘𝔫𝔦/tëst_ü.py");
            if (py.major() == 3) {
                assertThat(main.frames()).extracting(Frame::function).contains("naïve_ß", "函数");
            }
        } finally {
            Files.deleteIfExists(script);
            Files.deleteIfExists(dir);
        }
    }

    private static String utf8(String hex) {
        return new String(HexFormat.of().parseHex(hex), StandardCharsets.UTF_8);
    }

    @ForEachPython
    void qualifiedNameOfNestedClassMethodOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        String source = PythonScripts.NESTED_CLASS;
        Path script = PythonScripts.write("nested.py", source);
        try (PythonScripts.Running target = PythonScripts.start(py, script);
                PythonProcess proc = PythonProcess.attach(target.pid())) {
            ThreadStack main = SnapshotTest.snapshotAtLine(proc, PythonScripts.lineOf(source, "# METHOD"));
            Frame leaf = main.frames().get(0);
            assertThat(leaf.function()).isEqualTo("method");
            assertThat(leaf.line()).isEqualTo(PythonScripts.lineOf(source, "# METHOD"));
            if (py.atLeast(3, 11)) {
                assertThat(leaf.qualifiedName()).isEqualTo("Outer.Inner.method");
                assertThat(leaf.column()).isGreaterThanOrEqualTo(0);
            } else {
                assertThat(leaf.qualifiedName()).isEqualTo("method");
            }
            assertThat(main.frames().get(1).function()).isEqualTo("<module>");
        }
    }
}
