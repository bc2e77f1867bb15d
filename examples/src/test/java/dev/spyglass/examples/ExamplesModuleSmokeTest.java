package dev.spyglass.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.util.Set;

import org.junit.jupiter.api.Test;

import dev.spyglass.testsupport.ModuleSmoke;
import picocli.CommandLine;

class ExamplesModuleSmokeTest {
    @Test
    void runsOnJdk22OrNewer() {
        ModuleSmoke.assertRunningOnJdk22OrNewer();
    }

    @Test
    void exportsNothing() throws Exception {
        ModuleSmoke.assertModuleDescriptor("dev.spyglass.examples", Set.of());
    }

    @Test
    void helpPrintsUsage() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CommandLine cli = new CommandLine(new SpyglassCli());
        cli.setOut(new PrintWriter(out, true));
        int status = cli.execute("--help");
        assertThat(status).isZero();
        assertThat(out.toString()).contains("Usage: spyglass");
    }

    /** CPU mode counts state R, which includes threads queued for a CPU: the help must say so (issue 10). */
    @Test
    void recordHelpSaysCpuModeCountsThreadsWaitingForACpu() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CommandLine cli = SpyglassCli.commandLine(new java.io.PrintStream(out, true), new java.io.PrintStream(out, true));
        cli.setOut(new PrintWriter(out, true));
        assertThat(cli.execute("record", "--help")).isZero();
        assertThat(out.toString().replaceAll("\\s+", " ")).contains("waiting for one (state R");
    }
}
