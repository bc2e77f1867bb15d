package dev.spyglass.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.spyglass.testsupport.PythonInterpreter;

/** {@code record --mode gil} of a launched program: the spinning thread, not the one in a GIL-releasing read. */
class GilModeCliIT {
    static final String SCRIPT = String.join("\n",
            "import os, sys, threading, time",
            "def spinner():",
            "    x = 0",
            "    while True:",
            "        x = (x + 1) % 1000",
            "def reader():",
            "    fd = os.open('/dev/zero', os.O_RDONLY)",
            "    while True:",
            "        os.read(fd, 64 << 20)",
            "for f in (spinner, reader):",
            "    t = threading.Thread(target=f, name=f.__name__)",
            "    t.daemon = True",
            "    t.start()",
            "time.sleep(float(sys.argv[1]))",
            "");

    @TempDir
    Path dir;

    @Test
    void gilModeRecordsTheThreadHoldingTheGil() throws Exception {
        PythonInterpreter py = SpyglassCliIT.someInterpreter();
        Path script = dir.resolve("gil.py");
        Files.writeString(script, SCRIPT);
        Path out = dir.resolve("gil.austin");
        List<String> cmd = new ArrayList<>(SpyglassCliIT.cli("record", "--mode", "gil", "-i", "5ms", "-o", out.toString(),
                "--"));
        cmd.addAll(py.commandLine(script.toString(), "2"));
        SpyglassCliIT.Result r = SpyglassCliIT.run(cmd, py.environment(), 60);
        assertThat(r.exit()).as(r.err()).isZero();
        String text = Files.readString(out);
        // Austin's modes are wall, cpu, memory and full: GIL time is written as cpu.
        assertThat(text).contains("# mode: cpu");
        long spinner = text.lines().filter(l -> l.contains(":spinner:")).count();
        long reader = text.lines().filter(l -> l.contains(":reader:")).count();
        assertThat(spinner).as(text).isPositive();
        assertThat(reader).as("reader lines of %d spinner lines", spinner).isLessThanOrEqualTo(Math.max(2, spinner / 5));

        SpyglassCliIT.Result bad = SpyglassCliIT.run(SpyglassCliIT.cli("record", "--mode", "gill", "-p", "1"), 60);
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.err()).contains("--mode must be wall, cpu, gil, memory or faults, not 'gill'");
    }
}
