package dev.spyglass.internal.export;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.elf.ElfFile;

/**
 * The GNU build-ids (hex) of native frames' objects, read once per path and cached: pprof's {@code Mapping.build_id},
 * which lets {@code pprof} and symbol servers find the exact binary later. The path is the target's; in another
 * mount namespace (a container) it is reached through {@code /proc/<pid>/root}, which is tried first while the
 * target lives (a sample's pid is at hand then). Empty when neither can be read or the object has no build-id
 * (an ELF without {@code .note.gnu.build-id}, {@code [anonymous]}, {@code [vdso]}). Kernel frames' build-id is the
 * running kernel's ({@link #kernel()}).
 */
final class ObjectBuildIds {
    private static final Logger LOG = LoggerFactory.getLogger(ObjectBuildIds.class);
    static final int MAX_ENTRIES = 1 << 12;

    /** Where Linux exposes the running kernel's ELF notes (2.6.23+): the same bytes as vmlinux's {@code .notes}. */
    static final Path KERNEL_NOTES = Path.of("/sys/kernel/notes");
    private static final int NT_GNU_BUILD_ID = 3;
    /** {@code /sys/kernel/notes} is a few hundred bytes; more is not that file. */
    private static final int MAX_NOTES_BYTES = 1 << 16;

    private final Map<String, String> byPath = new HashMap<>();
    private String kernel;

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

    /**
     * The running kernel's build-id (hex), for a profile's kernel frames: read once from {@link #KERNEL_NOTES}.
     * Every process on the machine, a container's too, runs this kernel, so no {@code /proc/<pid>/root} is
     * needed. Empty when the file cannot be read or holds no GNU build-id note.
     */
    String kernel() {
        if (kernel == null) {
            kernel = kernelBuildId(KERNEL_NOTES);
        }
        return kernel;
    }

    static String kernelBuildId(Path notes) {
        byte[] b;
        try (var in = Files.newInputStream(notes)) {
            b = in.readNBytes(MAX_NOTES_BYTES);
        } catch (IOException | SecurityException e) {
            LOG.debug("no kernel build-id from {}: {}", notes, e.toString());
            return "";
        }
        return gnuBuildId(ByteBuffer.wrap(b).order(ByteOrder.nativeOrder()));
    }

    /**
     * The GNU build-id in a run of ELF notes (namesz, descsz, type, name and descriptor each padded to 4 bytes, in
     * the machine's byte order, as the kernel writes {@code /sys/kernel/notes}), or empty; stops at the first
     * note that does not fit.
     */
    static String gnuBuildId(ByteBuffer notes) {
        int at = 0;
        while (notes.limit() - at >= 12) {
            long namesz = Integer.toUnsignedLong(notes.getInt(at));
            long descsz = Integer.toUnsignedLong(notes.getInt(at + 4));
            int type = notes.getInt(at + 8);
            long nameAt = at + 12L;
            long descAt = nameAt + ((namesz + 3) & ~3L);
            long next = descAt + ((descsz + 3) & ~3L);
            if (next > notes.limit()) {
                return "";
            }
            if (type == NT_GNU_BUILD_ID && namesz == 4 && descsz > 0 && notes.get((int) nameAt) == 'G'
                    && notes.get((int) nameAt + 1) == 'N' && notes.get((int) nameAt + 2) == 'U'
                    && notes.get((int) nameAt + 3) == 0) {
                byte[] id = new byte[(int) descsz];
                notes.get((int) descAt, id);
                return HexFormat.of().formatHex(id);
            }
            at = (int) next;
        }
        return "";
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
