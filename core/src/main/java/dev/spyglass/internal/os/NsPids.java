package dev.spyglass.internal.os;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** The {@code NSpid} line of a {@code /proc/.../status} file: a task's ids from our PID namespace down to its own. */
public final class NsPids {
    private NsPids() {
    }

    /** The ids of the {@code NSpid} line of a {@code status} file, outermost first; empty when absent. */
    public static long[] of(Path status) {
        try {
            for (String line : Files.readAllLines(status, StandardCharsets.UTF_8)) {
                if (line.startsWith("NSpid:")) {
                    return parse(line);
                }
            }
        } catch (IOException | RuntimeException e) {
            // Gone, or a kernel before 4.1 (no NSpid): no translation.
        }
        return new long[0];
    }

    static long[] parse(String line) {
        String[] parts = line.substring("NSpid:".length()).trim().split("\\s+");
        long[] ids = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
            ids[i] = Long.parseLong(parts[i]);
        }
        return ids;
    }
}
