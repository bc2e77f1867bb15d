package dev.spyglass.examples;

import static dev.spyglass.examples.SpyglassCliIT.cli;
import static dev.spyglass.examples.SpyglassCliIT.run;
import static dev.spyglass.examples.SpyglassCliIT.someInterpreter;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.spyglass.examples.SpyglassCliIT.Result;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * A target whose function and file names hold an ESC (issue 10, "Files and terminals"): {@code dump} and a
 * collapsed profile show it as {@code \x1b}, never as the raw byte that would drive the reader's terminal.
 */
class ControlCharactersIT {

    /** A busy function renamed through its code object (3.8+; co_qualname, which we show, since 3.11). */
    static final String SCRIPT = String.join("\n",
            "import sys, time",
            "def busy(deadline):",
            "    s = 0",
            "    while time.time() < deadline:",
            "        for i in range(10000):",
            "            s += i * i",
            "    return s",
            "bad = 'bad\\x1b[31mname'",
            "kw = {'co_name': bad}",
            "if sys.version_info >= (3, 11):",
            "    kw['co_qualname'] = bad",
            "busy.__code__ = busy.__code__.replace(**kw)",
            "busy(time.time() + float(sys.argv[1]))",
            "");

    static final String ESCAPED_NAME = "bad\\x1b[31mname";

    @TempDir
    Path dir;

    @Test
    void dumpAndCollapsedShowControlCharactersInNamesAsEscapes() throws Exception {
        PythonInterpreter py = someInterpreter();
        Path script = dir.resolve("ctl\u001b[0m.py");
        Files.writeString(script, SCRIPT);
        Process target = py.processBuilder(script.toString(), "60").redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            Thread.sleep(400);
            String escapedFile = dir.resolve("ctl\\x1b[0m.py").toString();

            Result dump = run(cli("dump", "-p", Long.toString(target.pid())), 60);
            assertThat(dump.exit()).as(dump.err()).isZero();
            assertThat(dump.out()).doesNotContain("\u001b").contains(ESCAPED_NAME + " (" + escapedFile + ":");

            Path out = dir.resolve("x.collapsed");
            Result record = run(cli("record", "-p", Long.toString(target.pid()), "-d", "1", "-o", out.toString()), 60);
            assertThat(record.exit()).as(record.err()).isZero();
            byte[] bytes = Files.readAllBytes(out);
            assertThat(bytes).doesNotContain((byte) 0x1b);
            assertThat(new String(bytes, StandardCharsets.UTF_8)).contains(ESCAPED_NAME + " (" + escapedFile + ":");
        } finally {
            target.destroyForcibly().waitFor();
        }
    }
}
