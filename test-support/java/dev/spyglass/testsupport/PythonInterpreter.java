package dev.spyglass.testsupport;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

import org.junit.jupiter.api.Assumptions;

/**
 * One CPython interpreter found on this machine (or one we expected and did not find), for tests that
 * run against real interpreters.
 *
 * <p>An unavailable interpreter still appears in parameterised tests, so the test shows as
 * <em>skipped with its reason</em> rather than silently missing: call {@link #assumeAvailable()} first
 * in every test that uses one.
 *
 * @param label        short stable name shown in test names, e.g. {@code pyenv-3.12.1},
 *                     {@code debian-3.11.2}, {@code debian-sid-3.14.0}
 * @param origin       where it came from
 * @param version      exact version as the interpreter reports it ({@code "3.12.1"}); for an
 *                     unavailable one the expected {@code major.minor}
 * @param hexVersion   {@code sys.hexversion}, 0 if unavailable
 * @param freeThreaded true for a free-threaded (no-GIL) build
 * @param sharedLibpython true when the interpreter lives in {@code libpythonX.Y.so}, false when it is
 *                     linked into the executable (static)
 * @param executable   the interpreter's ELF executable (not a wrapper script)
 * @param libpython    the shared libpython, if {@code sharedLibpython}
 * @param command      the command that starts it (may include a loader); arguments follow
 * @param environment  extra environment for {@link #command}
 * @param unavailableReason empty when available; otherwise why it cannot be used here
 */
public record PythonInterpreter(
        String label,
        Origin origin,
        String version,
        long hexVersion,
        boolean freeThreaded,
        boolean sharedLibpython,
        Path executable,
        Optional<Path> libpython,
        List<String> command,
        Map<String, String> environment,
        Optional<String> unavailableReason) {

    /** Where an interpreter comes from. */
    public enum Origin {
        /** pyenv builds: PIE, shared libpython, with debug info. */
        PYENV,
        /** The distribution's own {@code /usr/bin/python3.X}: static libpython, stripped. */
        SYSTEM,
        /** Debian packages unpacked by {@code scripts/provision-pythons.sh}: static, non-PIE, stripped. */
        PROVISIONED,
        /** Listed in the {@code SPYGLASS_PYTHONS} environment variable. */
        USER
    }

    public PythonInterpreter {
        Objects.requireNonNull(label, "label");
        Objects.requireNonNull(origin, "origin");
        Objects.requireNonNull(version, "version");
        command = List.copyOf(command);
        environment = Map.copyOf(environment);
    }

    static PythonInterpreter unavailable(String label, Origin origin, String expectedVersion, String reason) {
        return new PythonInterpreter(label, origin, expectedVersion, 0, false, false, Path.of("/nonexistent"),
                Optional.empty(), List.of(), Map.of(), Optional.of(reason));
    }

    public boolean available() {
        return unavailableReason.isEmpty();
    }

    /** Skips the calling test, with the reason, when this interpreter is not on this machine. */
    public PythonInterpreter assumeAvailable() {
        Assumptions.assumeTrue(available(), () -> label + " unavailable: " + unavailableReason.orElse(""));
        return this;
    }

    public int major() {
        return Integer.parseInt(version.split("\\.")[0]);
    }

    public int minor() {
        return Integer.parseInt(version.split("\\.")[1]);
    }

    /** Micro (patch) version, or -1 when not known. */
    public int micro() {
        String[] parts = version.split("\\.");
        if (parts.length < 3) {
            return -1;
        }
        String digits = parts[2].replaceAll("[^0-9].*$", "");
        return digits.isEmpty() ? -1 : Integer.parseInt(digits);
    }

    /** {@code true} when this is at least {@code major.minor}. */
    public boolean atLeast(int major, int minor) {
        return major() > major || (major() == major && minor() >= minor);
    }

    /** The ELF object holding the interpreter state: libpython for shared builds, else the executable. */
    public Path interpreterObject() {
        return libpython.orElse(executable);
    }

    /** The full command line to run this interpreter with the given arguments. */
    public List<String> commandLine(String... args) {
        List<String> cmd = new ArrayList<>(command);
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** A process builder for this interpreter with its environment set (unbuffered output). */
    public ProcessBuilder processBuilder(String... args) {
        ProcessBuilder pb = new ProcessBuilder(commandLine(args));
        pb.environment().putAll(environment);
        pb.environment().put("PYTHONUNBUFFERED", "1");
        pb.environment().put("PYTHONDONTWRITEBYTECODE", "1");
        return pb;
    }

    /**
     * Runs {@code script} (Python source) in this interpreter and returns its standard output. Fails
     * the test on a non-zero exit or after {@code timeoutSeconds}.
     */
    public String run(String script, int timeoutSeconds) throws IOException, InterruptedException {
        Path file = Files.createTempFile("spyglass-", ".py");
        try {
            Files.writeString(file, script);
            Process p = processBuilder(file.toString()).redirectErrorStream(false).start();
            // Read both streams on their own threads so the timeout holds even when the script never ends.
            Map<String, String> out = new java.util.concurrent.ConcurrentHashMap<>();
            Thread err = drain(p.getErrorStream(), out, "err");
            Thread std = drain(p.getInputStream(), out, "out");
            if (!p.waitFor(timeoutSeconds, java.util.concurrent.TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                throw new AssertionError(label + ": script did not end within " + timeoutSeconds + " s");
            }
            err.join(java.time.Duration.ofSeconds(10));
            std.join(java.time.Duration.ofSeconds(10));
            if (p.exitValue() != 0) {
                throw new AssertionError(label + ": script exited " + p.exitValue() + ": " + out.get("err"));
            }
            String stdout = out.getOrDefault("out", "");
            return stdout;
        } finally {
            Files.deleteIfExists(file);
        }
    }

    private static Thread drain(java.io.InputStream in, Map<String, String> into, String key) {
        return Thread.ofVirtual().start(() -> {
            try (in) {
                into.put(key, new String(in.readAllBytes()));
            } catch (IOException e) {
                into.put(key, e.toString());
            }
        });
    }

    @Override
    public String toString() {
        if (!available()) {
            return label + " (unavailable)";
        }
        return label + (sharedLibpython ? " shared" : " static") + (freeThreaded ? " free-threaded" : "");
    }
}
