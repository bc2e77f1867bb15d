package dev.spyglass.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code scripts/test-summary.sh}, the closing summary of {@code ./spyglass test} (issue 10): each skip reason
 * once with its count, and the modules Maven did not run after a failing one. Runs the real script with bash
 * on test-outcomes.txt files and a Maven log laid out as a real run leaves them.
 */
class TestSummaryScriptTest {

    @TempDir
    Path dir;

    @Test
    void eachSkipReasonIsPrintedOnceWithItsCountAndTheModulesAfterAFailingOneAreNamed() throws Exception {
        outcomes("elf", "PASSED  ElfFileTest.a",
                "SKIPPED SamplerTest.x [built-3.15t] -- Assumption failed: built-3.15t unavailable: not built",
                "SKIPPED SnapshotTest.y [built-3.15t] -- Assumption failed: built-3.15t unavailable: not built",
                "SKIPPED HtmlTest.z -- no chromium",
                "SKIPPED OffsetsTest.o [pyenv-3.6.15] -- Assumption failed: pyenv-3.6.15: debug offsets are 3.13+",
                "SKIPPED OffsetsTest.o [pyenv-3.12.1] -- Assumption failed: pyenv-3.12.1: debug offsets are 3.13+");
        outcomes("cpython-abi", "PASSED  LayoutsTest.a");
        outcomes("core", "FAILED  SamplerTest.b -- expected 3", "PASSED  SnapshotTest.c",
                "SKIPPED CodeCacheTest.d [built-3.15t] -- Assumption failed: built-3.15t unavailable: not built");
        Path log = dir.resolve("mvn.log");
        Files.writeString(log, String.join("\n",
                "[INFO] Reactor Summary for spyglass-parent 0.1.0-SNAPSHOT:",
                "[INFO] ",
                "[INFO] spyglass-parent .................................... SUCCESS [  0.3 s]",
                "[INFO] spyglass-elf ....................................... SUCCESS [ 10.1 s]",
                "[INFO] spyglass-cpython-abi ............................... SUCCESS [ 12.0 s]",
                "[INFO] spyglass-core ...................................... FAILURE [ 90.2 s]",
                "[INFO] spyglass-examples .................................. SKIPPED",
                "[INFO] BUILD FAILURE", ""));

        String out = summary(log);

        assertThat(out).contains("spyglass: 6 skipped tests, 3 distinct reasons:");
        // Reasons that differ only by the interpreter's label are one cause.
        assertThat(out).contains("  2x <python>: debug offsets are 3.13+");
        assertThat(out).containsOnlyOnce("built-3.15t unavailable: not built").contains("  3x built-3.15t unavailable")
                .contains("SamplerTest.x [built-3.15t], SnapshotTest.y [built-3.15t], CodeCacheTest.d [built-3.15t]")
                .contains("  1x no chromium").doesNotContain("Assumption failed");
        assertThat(out).contains("spyglass: modules: elf: ran, cpython-abi: ran, core: FAILED, "
                + "examples: not run (core failed)");
        assertThat(out).contains("spyglass: 3 passed, 1 failed, 6 skipped");
    }

    /** Maven names modules by their pom's {@code <name>} (this project's poms have one), with a version when they differ. */
    @Test
    void aModuleThatDidNotCompileIsNamedFromMavensReactorSummary() throws Exception {
        outcomes("elf", "PASSED  ElfFileTest.a");
        for (String[] m : new String[][] {{"elf", "Spyglass ELF reader"}, {"cpython-abi", "Spyglass CPython ABI"},
                {"core", "Spyglass core"}, {"examples", "Spyglass examples and CLI"}}) {
            Files.createDirectories(dir.resolve(m[0]));
            Files.writeString(dir.resolve(m[0]).resolve("pom.xml"), "<project>\n  <parent>\n    <artifactId>spyglass-parent"
                    + "</artifactId>\n  </parent>\n  <artifactId>spyglass-" + m[0] + "</artifactId>\n  <name>" + m[1]
                    + "</name>\n</project>\n");
        }
        Path log = dir.resolve("mvn.log");
        Files.writeString(log, String.join("\n",
                "[INFO] Reactor Summary for Spyglass 0.1.0-SNAPSHOT:",
                "[INFO] Spyglass ........................................... SUCCESS [  0.3 s]",
                "[INFO] Spyglass ELF reader 0.1.0-SNAPSHOT ................. SUCCESS [ 10.1 s]",
                "[INFO] Spyglass CPython ABI ............................... FAILURE [  2.0 s]",
                "[INFO] Spyglass core ...................................... SKIPPED", ""));

        assertThat(summary(log)).contains("spyglass: modules: elf: ran, cpython-abi: FAILED, "
                + "core: not run (cpython-abi failed), examples: not in this build")
                .contains("spyglass: 1 passed, 0 failed, 0 skipped").doesNotContain("skipped tests");
    }

    @Test
    void aPassingRunListsNoModules() throws Exception {
        for (String m : List.of("elf", "cpython-abi", "core", "examples")) {
            outcomes(m, "PASSED  T.a");
        }
        assertThat(summary(dir.resolve("no-log"))).doesNotContain("modules:").contains("4 passed, 0 failed, 0 skipped");
    }

    private void outcomes(String module, String... lines) throws Exception {
        Path target = Files.createDirectories(dir.resolve(module).resolve("target"));
        Files.write(target.resolve("test-outcomes.txt"), List.of(lines), StandardCharsets.UTF_8);
    }

    private String summary(Path log) throws Exception {
        Path script = DocsLinksTest.projectRoot().resolve("scripts/test-summary.sh");
        List<String> cmd = new ArrayList<>(List.of("bash", script.toString(), log.toString()));
        for (String m : List.of("elf", "cpython-abi", "core", "examples")) {
            cmd.add(dir.resolve(m).toString());
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }
}
