package dev.spyglass.elf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.zip.CRC32;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** GDB's rules for finding a separate debug file, by build-id and by {@code .gnu_debuglink}. */
final class DebugFiles {
    private static final Logger LOG = LoggerFactory.getLogger(DebugFiles.class);

    private DebugFiles() {
    }

    static Optional<Path> find(ElfFile elf, Path fileOnDisk, Path debugRoot) {
        java.util.Objects.requireNonNull(fileOnDisk, "fileOnDisk");
        java.util.Objects.requireNonNull(debugRoot, "debugRoot");
        byte[] id = elf.buildId().filter(b -> b.length > 0).orElse(null);
        if (id != null && id.length >= 2) {
            String hex = elf.buildIdHex().orElseThrow();
            Path p = debugRoot.resolve(".build-id").resolve(hex.substring(0, 2)).resolve(hex.substring(2) + ".debug");
            if (ElfFile.exists(p) && sameBuildId(p, id)) {
                return Optional.of(p);
            }
        }
        if (elf.debugLink().isEmpty()) {
            return Optional.empty();
        }
        DebugLink link = elf.debugLink().get();
        if (link.fileName().isEmpty() || link.fileName().contains("/")) {
            return Optional.empty();
        }
        Path abs = fileOnDisk.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir == null) {
            return Optional.empty();
        }
        List<Path> candidates = new ArrayList<>();
        candidates.add(dir.resolve(link.fileName()));
        candidates.add(dir.resolve(".debug").resolve(link.fileName()));
        Path relDir = dir.getRoot() == null ? dir : dir.getRoot().relativize(dir);
        candidates.add(debugRoot.resolve(relDir).resolve(link.fileName()));
        for (Path c : candidates) {
            if (!ElfFile.exists(c) || isSameFile(c, abs)) {
                continue;
            }
            if (id != null) {
                if (sameBuildId(c, id)) {
                    return Optional.of(c);
                }
            } else if (crc32(c) == (link.crc32() & 0xffffffffL)) {
                return Optional.of(c);
            }
        }
        return Optional.empty();
    }

    private static boolean isSameFile(Path a, Path b) {
        try {
            return Files.isSameFile(a, b);
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean sameBuildId(Path candidate, byte[] id) {
        try (ElfFile d = ElfFile.open(candidate)) {
            return d.buildId().map(other -> Arrays.equals(other, id)).orElse(false);
        } catch (IOException e) {
            LOG.debug("Ignoring debug file candidate {}: {}", candidate, e.getMessage());
            return false;
        }
    }

    static long crc32(Path p) {
        try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            CRC32 crc = new CRC32();
            long size = ch.size();
            if (size > 0) {
                MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
                long chunk = 1 << 26;
                for (long at = 0; at < size; at += chunk) {
                    crc.update(seg.asSlice(at, Math.min(chunk, size - at)).asByteBuffer());
                }
            }
            return crc.getValue();
        } catch (IOException e) {
            LOG.debug("Cannot read debug file candidate {}: {}", p, e.getMessage());
            return -1;
        }
    }
}
