package dev.spyglass.examples;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Finds the program of a command to launch as a POSIX shell would, so that {@code spyglass record -- CMD} fails as
 * {@code sh -c CMD} does: status 127 when the program is not found, 126 when it cannot be executed. A script or a
 * CLI that wraps spyglass can then tell "no such program" from the program's own failure.
 */
final class CommandSearch {
    static final int NOT_FOUND = 127;
    static final int NOT_EXECUTABLE = 126;

    private CommandSearch() {
    }

    /** Why the command's program cannot be run, as one line for the user, or null when it can. */
    static Problem problem(List<String> command, String pathVariable) {
        String program = command.get(0);
        if (program.contains("/")) {
            return check(program, Path.of(program));
        }
        // An empty PATH entry means the current directory, as in sh.
        for (String dir : (pathVariable == null ? "" : pathVariable).split(File.pathSeparator, -1)) {
            Path candidate = Path.of(dir.isEmpty() ? "." : dir, program);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return null;
            }
        }
        for (String dir : (pathVariable == null ? "" : pathVariable).split(File.pathSeparator, -1)) {
            Path candidate = Path.of(dir.isEmpty() ? "." : dir, program);
            if (Files.exists(candidate) && !Files.isDirectory(candidate)) {
                return new Problem(NOT_EXECUTABLE, program + ": permission denied");
            }
        }
        return new Problem(NOT_FOUND, program + ": command not found");
    }

    private static Problem check(String program, Path path) {
        if (!Files.exists(path)) {
            return new Problem(NOT_FOUND, program + ": no such file or directory");
        }
        if (Files.isDirectory(path)) {
            return new Problem(NOT_EXECUTABLE, program + ": is a directory");
        }
        if (!Files.isExecutable(path)) {
            return new Problem(NOT_EXECUTABLE, program + ": permission denied");
        }
        return null;
    }

    /** A shell's exit status for the failure and its message (without the {@code spyglass: } prefix). */
    record Problem(int exitStatus, String message) {
    }
}
