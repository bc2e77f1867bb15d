package dev.spyglass.internal.export;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The external decoders that scripts/install-test-deps.sh puts under ${SPYGLASS_TOOLS:-~/.cache/spyglass-tools}.
 * Tests needing one skip with the reason the script recorded when it could not install it.
 */
final class TestTools {
    private TestTools() {
    }

    static Path toolsDir() {
        String env = System.getenv("SPYGLASS_TOOLS");
        return env != null && !env.isEmpty() ? Path.of(env)
                : Path.of(System.getProperty("user.home"), ".cache", "spyglass-tools");
    }

    static Path nodeModules() {
        return toolsDir().resolve("node").resolve("node_modules");
    }

    private static String reason(String tool, String fallback) {
        Path f = toolsDir().resolve(tool + ".unavailable");
        try {
            if (Files.exists(f)) {
                return tool + " unavailable: " + Files.readString(f).strip();
            }
        } catch (IOException e) {
            // fall through to the generic reason
        }
        return fallback;
    }

    /** Skips the test unless node and the npm packages are installed. */
    static void assumeNodePackages(String... packages) {
        assumeTrue(onPath("node"), () -> reason("node", "node is not on PATH; run scripts/install-test-deps.sh"));
        for (String p : packages) {
            assumeTrue(Files.isDirectory(nodeModules().resolve(p)), () -> reason("node",
                    "npm package " + p + " not under " + nodeModules() + "; run scripts/install-test-deps.sh"));
        }
    }

    static boolean onPath(String command) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, command))) {
                return true;
            }
        }
        return false;
    }

    /** The chromium binary, or skips the test with the recorded reason. */
    static Path chromium() {
        for (String c : new String[] {System.getenv("SPYGLASS_CHROMIUM"), "/usr/bin/chromium",
                "/usr/bin/chromium-browser"}) {
            if (c != null && !c.isEmpty() && Files.isExecutable(Path.of(c))) {
                return Path.of(c);
            }
        }
        assumeTrue(false, () -> reason("chromium", "chromium is not installed; run scripts/install-test-deps.sh"));
        throw new AssertionError("unreachable");
    }

    /** The {@code go} command that runs {@code go tool pprof}, or skips the test with the recorded reason. */
    static String goWithPprof() throws IOException, InterruptedException {
        assumeTrue(onPath("go"), () -> reason("go", "go is not on PATH; run scripts/install-test-deps.sh"));
        Result r = run(List.of("go", "tool", "-n", "pprof"));
        assumeTrue(r.exitCode() == 0, () -> reason("go", "go has no pprof tool: " + r.stderr().strip()));
        return "go";
    }

    /** Runs {@code command}, failing after 60 s. */
    static Result run(List<String> command) throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("spyglass-tool");
        Path out = dir.resolve("out");
        Path err = dir.resolve("err");
        Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("did not finish in 60 s: " + command);
        }
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }

    record Result(int exitCode, String stdout, String stderr) {
    }

    /** Runs {@code node script args...} with the tools' node_modules resolvable, failing after 60 s. */
    static Result node(String script, String... args) throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("spyglass-node");
        Path js = dir.resolve("check.cjs");
        Files.writeString(js, script);
        List<String> cmd = new ArrayList<>(List.of("node", js.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("NODE_PATH", nodeModules().toString());
        Path out = dir.resolve("out");
        Path err = dir.resolve("err");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("node did not finish in 60 s: " + cmd);
        }
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }
}
