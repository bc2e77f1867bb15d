package dev.spyglass.internal.os;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

import dev.spyglass.ProcessGoneException;
import dev.spyglass.SpyglassException;

/**
 * The memory map of a process, parsed from {@code /proc/PID/maps}: address ranges sorted by start,
 * with permissions, file offset and path. Answers "is this address mapped" with a binary search (the
 * stack reader checks every pointer it follows) and opens the mapped files as the target sees them.
 */
public final class ProcessMap {

    /**
     * One line of {@code /proc/PID/maps}.
     *
     * @param start      first address
     * @param end        one past the last address
     * @param perms      {@code rwxp}-style permissions
     * @param fileOffset offset of {@code start} in the mapped file (0 for anonymous maps)
     * @param inode      the file's inode, 0 for anonymous maps
     * @param path       the file path as the target sees it (without a {@code " (deleted)"} suffix),
     *                   a pseudo name such as {@code [heap]}, or empty for anonymous maps
     * @param deleted    the file was deleted after it was mapped
     */
    public record Mapping(long start, long end, String perms, long fileOffset, long inode, String path,
            boolean deleted) {

        public boolean readable() {
            return perms.charAt(0) == 'r';
        }

        public boolean writable() {
            return perms.charAt(1) == 'w';
        }

        public boolean executable() {
            return perms.charAt(2) == 'x';
        }

        /** Backed by a file (not anonymous, not {@code [heap]}, {@code [stack]}, ...). */
        public boolean isFile() {
            return inode != 0 && path.startsWith("/");
        }

        public boolean contains(long address) {
            return Long.compareUnsigned(address, start) >= 0 && Long.compareUnsigned(address, end) < 0;
        }

        public long size() {
            return end - start;
        }

        /** The {@code /proc/PID/map_files} name of this range. */
        String mapFilesName() {
            return Long.toHexString(start) + "-" + Long.toHexString(end);
        }
    }

    private final long pid;
    private final List<Mapping> mappings;
    private final long[] starts;
    private final long[] ends;

    private ProcessMap(long pid, List<Mapping> mappings) {
        this.pid = pid;
        this.mappings = List.copyOf(mappings);
        this.starts = new long[mappings.size()];
        this.ends = new long[mappings.size()];
        for (int i = 0; i < mappings.size(); i++) {
            starts[i] = mappings.get(i).start();
            ends[i] = mappings.get(i).end();
        }
    }

    /**
     * Reads {@code /proc/PID/maps}.
     *
     * @throws ProcessGoneException                 the process does not exist
     * @throws dev.spyglass.AccessDeniedException its map is not readable for us
     */
    public static ProcessMap read(long pid) throws SpyglassException {
        Path p = Path.of("/proc", Long.toString(pid), "maps");
        String text;
        try {
            text = Files.readString(p);
        } catch (NoSuchFileException e) {
            throw new ProcessGoneException(pid, "no process with PID " + pid + " (" + p + " does not exist)");
        } catch (AccessDeniedException e) {
            throw Errno.toException(pid, Errno.EACCES, "reading " + p);
        } catch (IOException e) {
            if (!Files.exists(Path.of("/proc", Long.toString(pid)))) {
                throw new ProcessGoneException(pid, "process " + pid + " exited");
            }
            throw new SpyglassException("cannot read " + p + ": " + e.getMessage(), e);
        }
        if (text.isEmpty() && !Files.exists(Path.of("/proc", Long.toString(pid), "exe"))) {
            // A zombie (or kernel thread) has an empty map.
            throw new ProcessGoneException(pid, "process " + pid + " has exited (it has no memory map)");
        }
        return parse(pid, text);
    }

    /** Parses the text of a {@code /proc/PID/maps} file. Malformed lines are skipped. */
    public static ProcessMap parse(long pid, String text) {
        List<Mapping> list = new ArrayList<>();
        for (String line : text.split("\n")) {
            Mapping m = parseLine(line);
            if (m != null) {
                list.add(m);
            }
        }
        list.sort((a, b) -> Long.compareUnsigned(a.start(), b.start()));
        return new ProcessMap(pid, list);
    }

    static Mapping parseLine(String line) {
        // start-end perms offset dev inode [path]; the path starts after padding and may contain spaces.
        int[] fieldEnd = new int[5];
        int pos = 0;
        int n = line.length();
        for (int f = 0; f < 5; f++) {
            while (pos < n && line.charAt(pos) == ' ') {
                pos++;
            }
            int s = pos;
            while (pos < n && line.charAt(pos) != ' ') {
                pos++;
            }
            if (s == pos) {
                return null;
            }
            fieldEnd[f] = pos;
        }
        try {
            String range = field(line, 0, fieldEnd);
            int dash = range.indexOf('-');
            if (dash < 0) {
                return null;
            }
            long start = Long.parseUnsignedLong(range.substring(0, dash), 16);
            long end = Long.parseUnsignedLong(range.substring(dash + 1), 16);
            String perms = field(line, 1, fieldEnd);
            if (perms.length() < 4) {
                return null;
            }
            long offset = Long.parseUnsignedLong(field(line, 2, fieldEnd), 16);
            long inode = Long.parseLong(field(line, 4, fieldEnd));
            String path = "";
            int p = fieldEnd[4];
            while (p < n && line.charAt(p) == ' ') {
                p++;
            }
            if (p < n) {
                path = line.substring(p);
            }
            boolean deleted = false;
            if (path.endsWith(" (deleted)")) {
                deleted = true;
                path = path.substring(0, path.length() - " (deleted)".length());
            }
            return new Mapping(start, end, perms, offset, inode, path, deleted);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static String field(String line, int f, int[] fieldEnd) {
        int end = fieldEnd[f];
        int s = end;
        while (s > 0 && line.charAt(s - 1) != ' ') {
            s--;
        }
        return line.substring(s, end);
    }

    public long pid() {
        return pid;
    }

    /** Every mapping, sorted by start address. */
    public List<Mapping> mappings() {
        return mappings;
    }

    /**
     * Where the code at {@code fileOffset} of a file is mapped: the address in every executable mapping of a file that
     * {@code file} accepts and whose part of the file holds that offset (none when no such mapping does).
     */
    public long[] codeAddresses(java.util.function.Predicate<Mapping> file, long fileOffset) {
        return mappings.stream()
                .filter(m -> m.executable() && m.isFile() && fileOffset >= m.fileOffset()
                        && fileOffset < m.fileOffset() + m.size() && file.test(m))
                .mapToLong(m -> m.start() + fileOffset - m.fileOffset()).toArray();
    }

    /** The mapping containing {@code address}, if any. */
    public Optional<Mapping> find(long address) {
        int i = indexOf(address);
        return i < 0 ? Optional.empty() : Optional.of(mappings.get(i));
    }

    /** {@code true} when {@code [address, address + length)} lies inside one readable mapping. */
    public boolean isReadable(long address, long length) {
        int i = indexOf(address);
        if (i < 0) {
            return false;
        }
        long last = address + Math.max(length, 1) - 1;
        return Long.compareUnsigned(last, ends[i]) < 0 && Long.compareUnsigned(last, address) >= 0
                && mappings.get(i).readable();
    }

    private int indexOf(long address) {
        int i = Arrays.binarySearch(starts, address);
        // The map is sorted by unsigned start; user-space addresses are below 2^63, so signed order agrees.
        if (i < 0) {
            i = -i - 2;
        }
        if (i < 0 || i >= starts.length) {
            return -1;
        }
        return Long.compareUnsigned(address, ends[i]) < 0 ? i : -1;
    }

    /** The mappings of each mapped file, in address order, keyed by path. */
    public Map<String, List<Mapping>> files() {
        Map<String, List<Mapping>> byPath = new LinkedHashMap<>();
        for (Mapping m : mappings) {
            if (m.isFile()) {
                byPath.computeIfAbsent(m.path(), k -> new ArrayList<>()).add(m);
            }
        }
        return byPath;
    }

    /**
     * A path through which this JVM can open the file mapped at {@code mapping}: the target's view of
     * the file system ({@code /proc/PID/root/PATH}, which also works for containers), else the mapping
     * itself ({@code /proc/PID/map_files/START-END}: works for deleted files, needs CAP_SYS_ADMIN on
     * older kernels).
     */
    public Optional<Path> openablePath(Mapping mapping) {
        Objects.requireNonNull(mapping, "mapping");
        if (!mapping.path().startsWith("/")) {
            return Optional.empty();
        }
        Path viaRoot = Path.of("/proc", Long.toString(pid), "root").resolve(mapping.path().substring(1));
        if (!mapping.deleted() && Files.isReadable(viaRoot)) {
            return Optional.of(viaRoot);
        }
        Path viaMapFiles = Path.of("/proc", Long.toString(pid), "map_files", mapping.mapFilesName());
        if (Files.isReadable(viaMapFiles)) {
            return Optional.of(viaMapFiles);
        }
        // Last resort, for a target in our own mount namespace: in a container the same path may name
        // another file here (its /lib/x86_64-linux-gnu/libc.so.6 is not ours), so the inode must match.
        Path direct = Path.of(mapping.path());
        return !mapping.deleted() && Files.isReadable(direct) && sameInode(direct, mapping.inode())
                ? Optional.of(direct) : Optional.empty();
    }

    static boolean sameInode(Path file, long inode) {
        try {
            return Files.getAttribute(file, "unix:ino") instanceof Long ino && ino == inode;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException | SecurityException e) {
            return false;
        }
    }

    /** The first readable mapping's start: an address to probe whether reading works. */
    public long firstReadableAddress() {
        for (Mapping m : mappings) {
            if (m.readable() && !m.path().equals("[vvar]") && !m.path().equals("[vsyscall]")) {
                return m.start();
            }
        }
        return 0;
    }
}
