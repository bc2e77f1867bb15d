package dev.spyglass.internal.probes;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import dev.spyglass.ProbedFunction;
import dev.spyglass.SpyglassException;
import dev.spyglass.SymbolNotFoundException;
import dev.spyglass.elf.ElfFile;
import dev.spyglass.elf.Symbol;
import dev.spyglass.internal.os.ProcessMap;

/**
 * Where to place a uprobe for a {@link ProbedFunction}: the object file (as this process opens it, through
 * {@code /proc/PID/root} for a target in a container) and the file offset of the function's first instruction,
 * from the object's ELF symbols ({@code .dynsym}, then {@code .symtab}) or from the mapping holding an address.
 * A uprobe is keyed by inode and offset, so it fires in the target whatever address the object was loaded at.
 */
public final class FunctionResolver {
    /** Closest names listed when a symbol is not found. */
    static final int SUGGESTIONS = 5;
    /** Stripped objects named when a symbol is not found (a process maps dozens). */
    static final int STRIPPED_SHOWN = 12;

    /**
     * A resolved probe point.
     *
     * @param symbol     the function's name ({@code object+0xOFFSET} for an address in no symbol)
     * @param object     the object as the target maps it
     * @param uprobePath the object as this process opens it (what the kernel is given)
     * @param fileOffset the function's first instruction, as an offset in that file
     */
    public record Resolved(String symbol, String object, String uprobePath, long fileOffset) {
    }

    private final long pid;
    private final ProcessMap map;
    private final String executable;

    public FunctionResolver(long pid) throws SpyglassException {
        this.pid = pid;
        this.map = ProcessMap.read(pid);
        String exe;
        try {
            exe = Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "exe")).toString();
        } catch (IOException | RuntimeException e) {
            exe = "";
        }
        this.executable = exe.endsWith(" (deleted)") ? exe.substring(0, exe.length() - 10) : exe;
    }

    /** The mapped objects in map order, one mapping each (the one at file offset 0 when there is one). */
    private Map<String, ProcessMap.Mapping> objects() {
        Map<String, ProcessMap.Mapping> out = new LinkedHashMap<>();
        for (ProcessMap.Mapping m : map.mappings()) {
            if (m.isFile() && (!out.containsKey(m.path()) || m.fileOffset() == 0)) {
                out.put(m.path(), m);
            }
        }
        return out;
    }

    /**
     * @throws SymbolNotFoundException no such symbol / object / executable address (the message says which,
     *                                 with the closest names)
     */
    public Resolved resolve(ProbedFunction f) throws SpyglassException {
        return f.symbol() == null ? byAddress(f.address()) : bySymbol(f.symbol(), f.library());
    }

    private Resolved byAddress(long address) throws SpyglassException {
        Optional<ProcessMap.Mapping> m = map.find(address);
        if (m.isEmpty() || !m.get().isFile() || !m.get().executable()) {
            throw new SymbolNotFoundException("address 0x" + Long.toHexString(address) + " is in no executable"
                    + " file mapping of process " + pid + (m.isPresent() ? " (it is in " + describe(m.get()) + ")" : "")
                    + ": give the address of the function's first instruction as the target maps it", List.of(), false);
        }
        ProcessMap.Mapping mapping = m.get();
        long offset = address - mapping.start() + mapping.fileOffset();
        Path file = openable(mapping);
        String name = Path.of(mapping.path()).getFileName() + "+0x" + Long.toHexString(offset);
        try (ElfFile elf = ElfFile.open(file)) {
            long vaddr = elf.fileOffsetToVaddr(offset);
            Optional<Symbol> s = elf.symbolAt(vaddr);
            if (s.isPresent()) {
                name = s.get().value() == vaddr ? s.get().name()
                        : s.get().name() + "+0x" + Long.toHexString(vaddr - s.get().value());
            }
        } catch (IOException | RuntimeException e) {
            // a name is only for display: the offset is what the kernel needs
        }
        return new Resolved(name, mapping.path(), file.toString(), offset);
    }

    private Resolved bySymbol(String symbol, String library) throws SpyglassException {
        List<ProcessMap.Mapping> searched = new ArrayList<>();
        Map<String, ProcessMap.Mapping> objects = objects();
        if (library != null) {
            for (ProcessMap.Mapping m : objects.values()) {
                if (matches(m.path(), library)) {
                    searched.add(m);
                }
            }
            if (searched.isEmpty()) {
                List<String> names = objects.keySet().stream().map(p -> Path.of(p).getFileName().toString())
                        .distinct().toList();
                throw new SymbolNotFoundException("process " + pid + " maps no object named " + library + " (it maps "
                        + String.join(", ", names.subList(0, Math.min(names.size(), 40)))
                        + (names.size() > 40 ? ", ..." : "") + ")", closest(library, names), false);
            }
        } else {
            ProcessMap.Mapping exe = objects.get(executable);
            if (exe != null) {
                searched.add(exe);
            }
            for (ProcessMap.Mapping m : objects.values()) {
                if (m != exe) {
                    searched.add(m);
                }
            }
        }
        Set<String> names = new LinkedHashSet<>();
        List<String> stripped = new ArrayList<>();
        for (ProcessMap.Mapping m : searched) {
            Path file;
            try {
                file = openable(m);
            } catch (SpyglassException e) {
                continue;
            }
            try (ElfFile elf = ElfFile.open(file)) {
                Optional<Symbol> s = elf.symbol(symbol).filter(x -> x.isDefined() && x.isFunction() && x.value() != 0);
                if (s.isPresent()) {
                    return new Resolved(symbol, m.path(), file.toString(), elf.vaddrToFileOffset(s.get().value()));
                }
                if (elf.section(".symtab").isEmpty()) {
                    stripped.add(Path.of(m.path()).getFileName().toString());
                }
                for (Symbol x : elf.symbols()) {
                    if (x.isDefined() && x.isFunction() && x.value() != 0) {
                        names.add(x.name());
                    }
                }
            } catch (IOException | RuntimeException e) {
                // not an ELF object (a font, a locale archive): nothing to probe there
            }
        }
        List<String> close = closest(symbol, names);
        String where = library != null ? "in " + String.join(", ", searched.stream().map(ProcessMap.Mapping::path)
                .distinct().toList()) : "in the executable or any object mapped by process " + pid;
        StringBuilder msg = new StringBuilder("no function ").append(symbol).append(' ').append(where);
        if (!close.isEmpty()) {
            msg.append("; closest: ").append(String.join(", ", close));
        }
        // Without a library every mapped object is searched, and most system libraries (libc, a distribution's
        // python) are stripped: naming them after a close name was found would bury a misspelling's answer.
        boolean mayBeNameless = !stripped.isEmpty() && (library != null || close.isEmpty());
        if (mayBeNameless) {
            List<String> shown = stripped.subList(0, Math.min(stripped.size(), STRIPPED_SHOWN));
            msg.append("; ").append(String.join(", ", shown))
                    .append(stripped.size() > shown.size() ? " and " + (stripped.size() - shown.size()) + " more" : "")
                    .append(stripped.size() == 1 ? " is" : " are").append(" stripped (no .symtab, only the exported"
                    + " .dynsym): a function ").append(stripped.size() == 1 ? "it does" : "they do")
                    .append(" not export has no name there, and can be probed by its first instruction's address in"
                            + " the target (from gdb or a debug build)");
        }
        // The option that takes the address is the caller's to name (latency --address, trace --trigger 0x...).
        throw new SymbolNotFoundException(msg.toString(), close, mayBeNameless);
    }

    /**
     * The defined functions of the objects named {@code library} whose names match {@code glob} ({@code *} any run,
     * {@code ?} one character), sorted, at most {@code limit}.
     *
     * @throws SymbolNotFoundException no such object, none matches, or more than {@code limit} do
     */
    public List<String> matching(String glob, String library, int limit) throws SpyglassException {
        java.util.regex.Pattern p = java.util.regex.Pattern.compile(
                ("\\Q" + glob + "\\E").replace("*", "\\E.*\\Q").replace("?", "\\E.\\Q"));
        java.util.TreeSet<String> out = new java.util.TreeSet<>();
        boolean any = false;
        for (ProcessMap.Mapping m : objects().values()) {
            if (!matches(m.path(), library)) {
                continue;
            }
            any = true;
            try (ElfFile elf = ElfFile.open(openable(m))) {
                for (Symbol x : elf.symbols()) {
                    if (x.isDefined() && x.isFunction() && x.value() != 0 && p.matcher(x.name()).matches()) {
                        out.add(x.name());
                    }
                }
            } catch (IOException | RuntimeException e) {
                // not an ELF object
            }
        }
        if (!any) {
            throw new SymbolNotFoundException("process " + pid + " maps no object named " + library, List.of(), false);
        }
        if (out.isEmpty()) {
            throw new SymbolNotFoundException("no function of " + library + " matches " + glob, List.of(), false);
        }
        if (out.size() > limit) {
            throw new SymbolNotFoundException(out.size() + " functions of " + library + " match " + glob + ", more than "
                    + limit + " (each is two probes per thread): narrow the pattern", List.of(), false);
        }
        return List.copyOf(out);
    }

    /** A path names {@code library}: equal, or its file name equal or starting with it (or with "lib" + it). */
    static boolean matches(String path, String library) {
        if (path.equals(library)) {
            return true;
        }
        String name = Path.of(path).getFileName().toString();
        return name.equals(library) || name.startsWith(library) || name.startsWith("lib" + library);
    }

    private Path openable(ProcessMap.Mapping m) throws SpyglassException {
        return map.openablePath(m).orElseThrow(() -> new SpyglassException("cannot open " + m.path()
                + " as process " + pid + " maps it (neither through /proc/" + pid + "/root nor map_files)"));
    }

    private static String describe(ProcessMap.Mapping m) {
        return (m.path().isEmpty() ? "an anonymous mapping" : m.path()) + ", " + m.perms();
    }

    /** The names nearest to {@code wanted}: containing it or contained first, then by edit distance. */
    static List<String> closest(String wanted, java.util.Collection<String> names) {
        String w = wanted.toLowerCase(Locale.ROOT);
        record Scored(String name, int score) {
        }
        List<Scored> scored = new ArrayList<>();
        int limit = Math.max(3, w.length() / 3);
        for (String n : names) {
            String l = n.toLowerCase(Locale.ROOT);
            int score;
            if (l.equals(w)) {
                score = 0; // differs in case only
            } else if (l.startsWith(w) || w.startsWith(l) || l.contains(w)) {
                score = 1 + Math.abs(l.length() - w.length()) / 8;
            } else if (Math.abs(l.length() - w.length()) > limit) {
                continue;
            } else {
                int d = distance(l, w, limit);
                if (d > limit) {
                    continue;
                }
                score = 2 + d;
            }
            scored.add(new Scored(n, score));
        }
        scored.sort(Comparator.comparingInt(Scored::score).thenComparing(Scored::name));
        return scored.stream().limit(SUGGESTIONS).map(Scored::name).toList();
    }

    /** Levenshtein distance, giving up (returning {@code limit + 1}) once every row exceeds {@code limit}. */
    static int distance(String a, String b, int limit) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            int best = cur[0];
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
                best = Math.min(best, cur[j]);
            }
            if (best > limit) {
                return limit + 1;
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
