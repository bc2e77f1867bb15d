package dev.spyglass.internal.nativeframes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** What the native-frame tests share: the right to trace, and small C libraries built with gcc in the test. */
public final class NativeTargets {
    private NativeTargets() {
    }

    /** Skips the test unless this JVM may trace a process that is not its child (root, or Yama scope 0). */
    public static void assumePtrace() throws IOException {
        Path yama = Path.of("/proc/sys/kernel/yama/ptrace_scope");
        assumeTrue("root".equals(System.getProperty("user.name")) || !Files.exists(yama)
                || Files.readString(yama).trim().equals("0"), "ptrace of a non-child needs root or Yama scope 0");
    }

    /**
     * Builds {@code source} into {@code lib<name>.so} in a new temporary folder with gcc and
     * {@code flags} (besides {@code -shared -fPIC -O1}); skips the test when there is no gcc, fails it
     * when gcc fails.
     */
    public static Path buildLibrary(String name, String source, String... flags) throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("spyglass-" + name);
        Path src = dir.resolve(name + ".c");
        Files.writeString(src, source);
        Path lib = dir.resolve("lib" + name + ".so");
        List<String> cmd = new ArrayList<>(List.of("gcc", "-shared", "-fPIC", "-O1"));
        cmd.addAll(List.of(flags));
        cmd.addAll(List.of("-o", lib.toString(), src.toString()));
        Process gcc;
        try {
            gcc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            assumeTrue(false, "no gcc on this machine");
            throw e;
        }
        String out = new String(gcc.getInputStream().readAllBytes());
        assertThat(gcc.waitFor(60, TimeUnit.SECONDS) && gcc.exitValue() == 0).as("gcc built %s: %s", lib, out).isTrue();
        return lib;
    }
}
