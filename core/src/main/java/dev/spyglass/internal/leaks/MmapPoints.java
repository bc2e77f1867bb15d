package dev.spyglass.internal.leaks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import dev.spyglass.SpyglassException;
import dev.spyglass.elf.ElfFile;
import dev.spyglass.elf.Symbol;
import dev.spyglass.internal.os.ProcessMap;
import dev.spyglass.internal.python.Target;

/**
 * Where the coarse level probes {@code mmap} and {@code munmap}: the C library's exported functions in the target
 * (glibc's {@code libc.so.6}; its own {@code malloc} calls the same {@code __mmap}, an alias at the same address).
 * They see the mappings a program makes itself ({@code mmap.mmap(-1, n)}, a C extension's buffers); those made
 * inside a probed raw or arena allocation (glibc's {@code malloc} serving a block over its mmap threshold, pymalloc
 * taking an arena) are already counted there and are skipped by the caller. {@code munmap} of a part of a mapping
 * and {@code mremap} are followed ({@link Mappings}).
 *
 * @param object       the C library's path in the target's mount namespace (as {@code /proc/PID/maps} names it)
 * @param file         how this process opens it
 * @param mmapOffset   file offset of {@code mmap}
 * @param munmapOffset file offset of {@code munmap}
 * @param mremapOffset file offset of {@code mremap} (a mapping resized or moved), -1 when the library has none
 */
public record MmapPoints(String object, String file, long mmapOffset, long munmapOffset, long mremapOffset) {

    /** The outcome of {@link #find}: the points, or why there are none (for the report's probes line). */
    public record Found(Optional<MmapPoints> points, String reason) {
    }

    /** {@code mmap} and {@code munmap} of the C library mapped executable in the target. */
    public static Found find(Target target) {
        try {
            ProcessMap map = ProcessMap.read(target.pid());
            Optional<ProcessMap.Mapping> libc = map.mappings().stream()
                    .filter(m -> m.executable() && m.isFile() && isLibc(m.path())).findFirst();
            if (libc.isEmpty()) {
                return new Found(Optional.empty(), "mmap not probed: no C library (libc.so.6) mapped in the target");
            }
            String object = libc.get().path();
            Path file = Files.isReadable(Path.of(object)) ? Path.of(object)
                    : Path.of("/proc", Long.toString(target.pid()), "root", object);
            try (ElfFile elf = ElfFile.open(file)) {
                Optional<Symbol> m = defined(elf.dynamicSymbol("mmap"));
                Optional<Symbol> u = defined(elf.dynamicSymbol("munmap"));
                Optional<Symbol> r = defined(elf.dynamicSymbol("mremap"));
                if (m.isEmpty() || u.isEmpty()) {
                    return new Found(Optional.empty(), "mmap not probed: no mmap / munmap in .dynsym of " + object);
                }
                return new Found(Optional.of(new MmapPoints(object, file.toString(),
                        elf.vaddrToFileOffset(m.get().value()), elf.vaddrToFileOffset(u.get().value()),
                        r.isEmpty() ? -1 : elf.vaddrToFileOffset(r.get().value()))), "");
            }
        } catch (IOException | SpyglassException | RuntimeException e) {
            return new Found(Optional.empty(), "mmap not probed: cannot read the C library: " + e);
        }
    }

    /** glibc's {@code libc.so.6} (also an older {@code libc-2.31.so}), not {@code libcrypto} and the like. */
    static boolean isLibc(String path) {
        String name = path.substring(path.lastIndexOf('/') + 1);
        return name.startsWith("libc.so") || name.matches("libc-[0-9.]+\\.so");
    }

    private static Optional<Symbol> defined(Optional<Symbol> s) {
        return s.filter(x -> x.isDefined() && x.isFunction() && x.value() != 0);
    }
}
