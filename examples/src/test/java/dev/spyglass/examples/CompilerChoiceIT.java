package dev.spyglass.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/**
 * scripts/compiler-choice.sh, which the launcher and the installed command source (issue 16, footprint): the quick
 * compiler alone for short commands and for recordings at 1 ms or slower, both compilers faster than that, the
 * launched command's own arguments never read as ours.
 */
class CompilerChoiceIT {
    private static final Path SCRIPT = Path.of("..", "scripts", "compiler-choice.sh").toAbsolutePath().normalize();
    private static final String QUICK = "-XX:TieredStopAtLevel=1";

    @Test
    void quickCompilerForShortCommandsAndRecordingsAtOneMillisecondOrSlower() throws Exception {
        assertThat(choice()).isEqualTo(QUICK);
        assertThat(choice("dump", "-p", "1")).isEqualTo(QUICK);
        assertThat(choice("--help")).isEqualTo(QUICK);
        assertThat(choice("record", "-p", "1")).as("default 1ms").isEqualTo(QUICK);
        assertThat(choice("top", "-p", "1")).as("default 1ms").isEqualTo(QUICK);
        assertThat(choice("record", "-i", "1ms", "-p", "1")).isEqualTo(QUICK);
        assertThat(choice("record", "-i2ms")).isEqualTo(QUICK);
        assertThat(choice("record", "--interval=0.5s")).isEqualTo(QUICK);
        assertThat(choice("record", "--interval", "1000")).as("a bare number is µs").isEqualTo(QUICK);
        assertThat(choice("top", "-i", "1m")).isEqualTo(QUICK);
        assertThat(choice("record", "--", "python3", "-i", "10us", "app.py")).as("the command's -i is its own")
                .isEqualTo(QUICK);
    }

    @Test
    void bothCompilersFasterThanOneMillisecondAndForOtherCommands() throws Exception {
        assertThat(choice("record", "-i", "100us", "-p", "1")).isEmpty();
        assertThat(choice("record", "-i", "1us")).isEmpty();
        assertThat(choice("record", "-i", "999")).isEmpty();
        assertThat(choice("record", "--interval=0.5ms")).isEmpty();
        assertThat(choice("top", "-i", "0.1ms")).isEmpty();
        assertThat(choice("record", "-i", "500", "--", "python3", "-i", "10ms")).isEmpty();
        assertThat(choice("record", "-i", "soon")).as("unreadable: the CLI says so").isEmpty();
        assertThat(choice("leaks", "-p", "1")).isEmpty();
        assertThat(choice("latency", "-p", "1", "--function", "f")).isEmpty();
    }

    private static String choice(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("sh", "-c", ". \"$0\"; spyglass_quick_compiler \"$@\"",
                SCRIPT.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes()).strip();
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }
}
