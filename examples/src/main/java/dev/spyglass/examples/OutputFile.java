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
}
