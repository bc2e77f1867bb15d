package dev.spyglass.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.spyglass.testsupport.PythonInterpreter.Origin;

/** The interpreter fixture itself: every interpreter it reports really runs and is what it says. */
class PythonInterpretersTest {

    @ForEachPython
    void launchesAndReportsItsVersion(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        String out = py.run("import sys, os\n"
                + "sys.stdout.write('%d.%d.%d %d %d\\n' % (sys.version_info[0], sys.version_info[1],"
                + " sys.version_info[2], sys.hexversion, os.getpid()))\n", 30);
        String[] parts = out.strip().split(" ");
        assertThat(py.version()).startsWith(parts[0]);
        assertThat(Long.parseLong(parts[1])).isEqualTo(py.hexVersion());
        assertThat(py.executable()).isRegularFile();
        byte[] magic = new byte[4];
        try (var in = Files.newInputStream(py.executable())) {
            assertThat(in.read(magic)).isEqualTo(4);
        }
        assertThat(magic).as("%s is an ELF file", py.executable()).containsExactly(0x7f, 'E', 'L', 'F');
        if (py.sharedLibpython()) {
            assertThat(py.libpython()).hasValueSatisfying(lib -> assertThat(lib.getFileName().toString())
                    .startsWith("libpython" + py.major() + "." + py.minor()));
        } else {
            assertThat(py.libpython()).isEmpty();
        }
    }

    @ForEachPython
    void launchedProcessIsTheInterpreterItself(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        // The sampler attaches to the PID we start: a wrapper must exec the interpreter, not fork it.
        Process p = py.processBuilder("-c", "import time, os, sys; sys.stdout.write(str(os.getpid())+'\\n');"
                + " sys.stdout.flush(); time.sleep(5)").start();
        try {
            String line = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream())).readLine();
            assertThat(Long.parseLong(line)).isEqualTo(p.pid());
            String maps = Files.readString(java.nio.file.Path.of("/proc", Long.toString(p.pid()), "maps"));
            assertThat(maps).contains(py.interpreterObject().toString());
        } finally {
            p.destroyForcibly().waitFor();
        }
    }

    @Test
    void expectedShapesAreAllListed() {
        List<PythonInterpreter> all = PythonInterpreters.discover();
        for (var e : PythonInterpreters.EXPECTED) {
            assertThat(all).as("expected %s %s listed (available or with a skip reason)", e.getKey(), e.getValue())
                    .anySatisfy(p -> {
                        assertThat(p.origin()).isEqualTo(e.getKey());
                        assertThat(p.version()).startsWith(e.getValue());
                    });
        }
        assertThat(all).filteredOn(p -> !p.available())
                .allSatisfy(p -> assertThat(p.unavailableReason()).isPresent());
        assertThat(all).filteredOn(p -> p.origin() == Origin.PYENV && p.available()).isNotEmpty();
    }
}
