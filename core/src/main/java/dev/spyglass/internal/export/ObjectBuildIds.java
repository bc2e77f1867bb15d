package dev.spyglass.internal.export;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.elf.ElfFile;

/**
 * The GNU build-ids (hex) of native frames' objects, read once per path and cached: pprof's {@code Mapping.build_id},
 * which lets {@code pprof} and symbol servers find the exact binary later. The path is the target's; in another
 * mount namespace (a container) it is reached through {@code /proc/<pid>/root}, which is tried first while the
 * target lives (a sample's pid is at hand then). Empty when neither can be read or the object has no build-id
 * (an ELF without {@code .note.gnu.build-id}, {@code [anonymous]}, {@code [vdso]}).
 */
final class ObjectBuildIds {
    private static final Logger LOG = LoggerFactory.getLogger(ObjectBuildIds.class);
    static final int MAX_ENTRIES = 1 << 12;

    private final Map<String, String> byPath = new HashMap<>();

    /** The build-id of the object at {@code path} in process {@code pid} (-1: unknown, read the path as it is). */
    String of(String path, long pid) {
        String id = byPath.get(path);
        if (id != null) {
            return id;
        }
        id = "";
        if (path.startsWith("/")) {
            if (pid > 0) {
                id = read(Path.of("/proc", Long.toString(pid), "root").toString() + path);
            }
            if (id.isEmpty()) {
                id = read(path);
            }
        }
        if (byPath.size() < MAX_ENTRIES) {
            byPath.put(path, id);
        }
        return id;
    }

    private static String read(String file) {
        try {
            Path p = Path.of(file);
            if (!Files.isRegularFile(p)) {
                return "";
            }
            try (ElfFile elf = ElfFile.open(p)) {
                return elf.buildIdHex().orElse("");
            }
        } catch (IOException | InvalidPathException | SecurityException e) {
            LOG.debug("no build-id for {}: {}", file, e.toString());
            return "";
        }
    }
}
