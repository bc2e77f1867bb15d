package dev.spyglass.examples;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A profile file written under a temporary name in the target's directory and renamed over the target only
 * when complete. The same directory keeps the rename on one file system, so it is atomic where the file
 * system allows it; a reader of the target sees either the previous file or the new one, never a partial one.
 */
final class OutputFile {

    private final Path target;
    private final Path temporary;
    private final AtomicBoolean settled = new AtomicBoolean();

    OutputFile(Path target) {
        this.target = target.toAbsolutePath();
        // Hidden and named after this JVM, so two recordings to the same file do not share a temporary file.
        this.temporary = this.target.resolveSibling("." + this.target.getFileName() + ".spyglass-tmp-"
                + ProcessHandle.current().pid());
    }

    /** Where the exporter writes until {@link #commit()}. */
    Path temporary() {
        return temporary;
    }

    /** Renames the finished temporary file over the target; nothing happens once settled. */
    void commit() throws IOException {
        if (!settled.compareAndSet(false, true)) {
            return;
        }
        try {
            try {
                Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            Files.deleteIfExists(temporary);
            throw e;
        }
    }

    /**
     * Removes the temporary file and leaves the target as it was; nothing happens once committed. Called from
     * the shutdown hook as well as the main thread, hence the one-time switch.
     */
    void discard() {
        if (!settled.compareAndSet(false, true)) {
            return;
        }
        try {
            Files.deleteIfExists(temporary);
        } catch (IOException ignored) {
            // Best effort on the way out: the hidden file's name says what it is.
        }
    }

    /** Why {@code file} cannot be written (created or replaced), or null when it looks writable. */
    static String unwritable(Path file) {
        Path abs = file.toAbsolutePath();
        Path dir = abs.getParent();
        if (Files.isDirectory(abs)) {
            return "it is a directory";
        }
        if (dir == null || !Files.isDirectory(dir)) {
            return "no such directory " + dir;
        }
        // The directory too when the file exists: the profile is written beside it and renamed over it.
        if (!Files.isWritable(dir) || Files.exists(abs) && !Files.isWritable(abs)) {
            return "permission denied";
        }
        return null;
    }

    /** An I/O error's reason: {@code NoSuchFileException}'s message is only the path. */
    static String reason(IOException e) {
        return switch (e) {
            case java.nio.file.NoSuchFileException x -> "no such file or directory";
            case java.nio.file.AccessDeniedException x -> "permission denied";
            case java.nio.file.FileSystemException x when x.getReason() != null -> x.getReason();
            default -> e.getMessage() != null ? e.getMessage() : e.toString();
        };
    }
}
