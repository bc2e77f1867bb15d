package dev.spyglass.internal.python;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.AccessDeniedException;
import dev.spyglass.InterpreterNotReadyException;
import dev.spyglass.NotAPythonProcessException;
import dev.spyglass.SpyglassException;
import dev.spyglass.UnsupportedPythonVersionException;
import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.cpython.abi.PythonVersion;
import dev.spyglass.elf.ElfFile;
import dev.spyglass.elf.Section;
import dev.spyglass.elf.Symbol;
import dev.spyglass.internal.os.MemoryFault;
import dev.spyglass.internal.os.ProcessMap;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * Finds the CPython interpreter in a process from its memory map, without trusting the executable's
 * name or {@code /proc/PID/exe} (which names the loader when a program is started as
 * {@code ld-linux.so PROGRAM}): every mapped ELF object that defines CPython's symbols is a candidate
 * (libpython for shared builds, the executable for static ones, any program embedding either).
 *
 * <p>Version: {@code Py_Version} (3.11+), else a version string in {@code .rodata}, else the file
 * name. Interpreter list: {@code _PyRuntime} (symbol, or the {@code .PyRuntime} section, 3.10+), or
 * {@code interp_head} (a local {@code .symtab} symbol of 2.7/3.6), else a scan of the object's
 * writable data for a word pointing to an interpreter whose first thread points back to it.
 */
public final class InterpreterLocator {
    private static final Logger LOG = LoggerFactory.getLogger(InterpreterLocator.class);

    /** Libraries that never hold the interpreter: skipping them saves opening dozens of files. */
    private static final Pattern NOT_PYTHON = Pattern.compile(
            "^(ld-linux.*|ld-.*\\.so.*|libc\\.so.*|libm\\.so.*|libpthread.*|libdl[.-].*|librt[.-].*|libutil[.-].*"
                    + "|libz\\.so.*|libssl.*|libcrypto.*|libffi.*|libexpat.*|libbz2.*|liblzma.*|libreadline.*"
                    + "|libncurses.*|libtinfo.*|libsqlite.*|libgcc_s.*|libstdc\\+\\+.*|libuuid.*|libnss_.*"
                    + "|libgdbm.*|libmpdec.*|libzstd.*|libcrypt\\.so.*|libselinux.*|libpcre.*|libnsl.*|libtirpc.*"
                    + "|.*\\.cpython-.*\\.so|.*module\\.so|locale-archive|.*\\.cache|gconv-modules.*)$");

    /** Options for tests: pretend symbols are stripped to exercise the memory scan. */
    public record Options(boolean useSymbols) {
        public static final Options DEFAULT = new Options(true);
    }

    private InterpreterLocator() {
    }

    /**
     * Locates the interpreter.
     *
     * @throws NotAPythonProcessException       no mapped object defines CPython's symbols
     * @throws UnsupportedPythonVersionException the version has no known layout
     * @throws InterpreterNotReadyException      found, but the interpreter list is still empty
     */
    public static LocatedInterpreter locate(long pid, ProcessMap map, RemoteMemory memory, Options options)
            throws SpyglassException {
        List<String> examined = new ArrayList<>();
        for (Map.Entry<String, List<ProcessMap.Mapping>> e : candidates(map)) {
            String path = e.getKey();
            List<ProcessMap.Mapping> mappings = e.getValue();
            ProcessMap.Mapping first = mappings.stream().min(Comparator.comparingLong(ProcessMap.Mapping::fileOffset))
                    .orElseThrow();
            Optional<Path> file = map.openablePath(first);
            if (file.isEmpty()) {
                if (first.deleted()) {
                    Optional<LocatedInterpreter> found = examineMappedImage(pid, path, mappings, first, map, memory,
                            options);
                    if (found.isPresent()) {
                        return found.get();
                    }
                    if (Path.of(path).getFileName().toString().contains("python")) {
                        throw replacedOnDisk(pid, first);
                    }
                }
                examined.add(path + (first.deleted() ? " (deleted on disk, mapped image not readable)" : " (not readable)"));
                continue;
            }
            try (ElfFile elf = ElfFile.open(file.get())) {
                Optional<LocatedInterpreter> found = examine(pid, path, elf, first, map, memory, options);
                if (found.isPresent()) {
                    return found.get();
                }
                examined.add(path);
            } catch (IOException | RuntimeException ex) {
                // Not an ELF file (a data file mapped executable), or a broken one: not the interpreter.
                LOG.debug("skipping {}: {}", path, ex.toString());
                examined.add(path + " (" + ex.getClass().getSimpleName() + ")");
            }
        }
        throw new NotAPythonProcessException("process " + pid + " is not a CPython process: none of its mapped "
                + "objects defines _PyRuntime, Py_Version, interp_head or _PyThreadState_Current (examined: "
                + (examined.isEmpty() ? "none" : String.join(", ", examined)) + ")");
    }

    /**
     * An object deleted or replaced on disk whose mapped image cannot be opened (no CAP_SYS_ADMIN for
     * /proc/PID/map_files): read from the target's memory instead ({@link MappedImage}).
     */
    private static Optional<LocatedInterpreter> examineMappedImage(long pid, String path,
            List<ProcessMap.Mapping> mappings, ProcessMap.Mapping first, ProcessMap map, RemoteMemory memory,
            Options options) throws SpyglassException {
        try (Arena arena = Arena.ofConfined()) {
            Optional<ElfFile> image = MappedImage.read(path, mappings, memory, arena);
            if (image.isEmpty()) {
                return Optional.empty();
            }
            try (ElfFile elf = image.get()) {
                Optional<LocatedInterpreter> found = examine(pid, path, elf, first, map, memory, options);
                found.ifPresent(f -> LOG.debug("process {}: {} is deleted on disk; read its image from memory", pid,
                        path));
                return found;
            } catch (InterpreterNotReadyException e) {
                // Without .symtab (2.7, 3.6: interp_head) and without sections to scan: not from memory.
                LOG.debug("process {}: the image of {} in memory is not enough: {}", pid, path, e.getMessage());
                return Optional.empty();
            }
        }
    }

    /**
     * A libpython (or python executable) deleted or replaced on disk after the target mapped it, e.g. by a
     * package upgrade: the file at its path is another build (or none), and the image the process runs
     * can be opened only through {@code /proc/PID/map_files}, which the kernel keeps to CAP_SYS_ADMIN
     * (or, since Linux 5.9, CAP_CHECKPOINT_RESTORE) in the initial user namespace, and its image in
     * memory has no {@code .symtab}. Said in one line rather than "not a CPython process" for a live
     * CPython.
     */
    private static AccessDeniedException replacedOnDisk(long pid, ProcessMap.Mapping mapping) {
        return new AccessDeniedException("cannot read the interpreter of process " + pid + ": " + mapping.path()
                + " was deleted or replaced on disk after the process started (a package upgrade?); the image "
                + "the process runs lacks the symbols needed (CPython 2.7 and 3.6 keep interp_head in .symtab, "
                + "which is not loaded) and its file (/proc/" + pid + "/map_files/...) can be opened only with "
                + "CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE: run Spyglass as root (or with one of those "
                + "capabilities), or restart the target");
    }

    /** The file-backed objects with code, most likely interpreter holders first. */
    static List<Map.Entry<String, List<ProcessMap.Mapping>>> candidates(ProcessMap map) {
        List<Map.Entry<String, List<ProcessMap.Mapping>>> result = new ArrayList<>();
        for (Map.Entry<String, List<ProcessMap.Mapping>> e : map.files().entrySet()) {
            String name = Path.of(e.getKey()).getFileName().toString();
            boolean hasCode = e.getValue().stream().anyMatch(ProcessMap.Mapping::executable);
            if (!hasCode || NOT_PYTHON.matcher(name).matches()) {
                continue;
            }
            result.add(e);
        }
        result.sort(Comparator.comparingInt(e -> Path.of(e.getKey()).getFileName().toString().contains("python") ? 0 : 1));
        return result;
    }

    private static Optional<Symbol> defined(ElfFile elf, String name, boolean useSymtab) {
        return (useSymtab ? elf.symbol(name) : elf.dynamicSymbol(name)).filter(Symbol::isDefined)
                .filter(s -> useSymtab || s.dynamic());
    }

    private static Optional<LocatedInterpreter> examine(long pid, String path, ElfFile elf, ProcessMap.Mapping first,
            ProcessMap map, RemoteMemory memory, Options options) throws SpyglassException {
        boolean syms = options.useSymbols();
        // An object exporting _PyRuntime (3.7+) exports everything else needed too, and has no
        // interp_head or _PyThreadState_Current: look only in .dynsym then, since a .symtab miss builds an
        // index of every symbol (2 - 7 ms per attach for a pyenv libpython, ~30 ms cold; it was paid at
        // every poll while a launched target starts).
        boolean exportsRuntime = elf.dynamicSymbol("_PyRuntime").filter(Symbol::isDefined).isPresent();
        Optional<Symbol> pyVersion = defined(elf, "Py_Version", !exportsRuntime);
        Optional<Symbol> runtime = syms ? defined(elf, "_PyRuntime", !exportsRuntime) : Optional.empty();
        Optional<Section> runtimeSection = elf.section(".PyRuntime");
        Optional<Symbol> interpHead = syms && !exportsRuntime ? defined(elf, "interp_head", true) : Optional.empty();
        Optional<Symbol> tstateCurrent = exportsRuntime ? Optional.empty()
                : defined(elf, "_PyThreadState_Current", true);
        boolean pythonish = exportsRuntime || pyVersion.isPresent() || runtimeSection.isPresent()
                || defined(elf, "_PyRuntime", true).isPresent() || defined(elf, "interp_head", true).isPresent()
                || tstateCurrent.isPresent() || defined(elf, "Py_GetVersion", true).isPresent();
        if (!pythonish) {
            return Optional.empty();
        }
        long bias = elf.loadBias(first.start(), first.fileOffset());
        VersionProbe.Found found = VersionProbe.probe(pid, path, elf, bias, pyVersion, memory);
        PythonVersion version = found.version();
        String versionSource = found.source();

        long runtimeAddress = 0;
        if (runtime.isPresent()) {
            runtimeAddress = bias + runtime.get().value();
        } else if (runtimeSection.isPresent() && version.isAtLeast(3, 10)) {
            runtimeAddress = bias + runtimeSection.get().address();
        }
        Layout layout = LayoutResolver.layoutFor(pid, version, runtimeAddress, memory, path);
        version = layout.version();

        long head;
        String headSource;
        if (runtimeAddress != 0 && layout.has(Field.RUNTIME_INTERPRETERS_HEAD)) {
            head = runtimeAddress + layout.require(Field.RUNTIME_INTERPRETERS_HEAD);
            headSource = runtime.isPresent() ? "_PyRuntime symbol" : ".PyRuntime section";
        } else if (interpHead.isPresent()) {
            head = bias + interpHead.get().value();
            headSource = "interp_head symbol";
        } else {
            head = InterpreterHeadScan.scan(elf, bias, map, memory, layout);
            headSource = "scan of writable data";
            if (head == 0) {
                throw new InterpreterNotReadyException("process " + pid + " maps " + path + " (CPython " + version
                        + ") but no interpreter state was found in its writable data: the interpreter is not "
                        + "initialised (yet), or its symbols are stripped and the scan failed");
            }
        }
        long codeType = defined(elf, "PyCode_Type", !exportsRuntime).map(s -> bias + s.value()).orElse(0L);
        long tstateCurrentAddress = tstateCurrent.map(s -> bias + s.value()).orElse(0L);
        LocatedInterpreter located = new LocatedInterpreter(path, bias, version, versionSource, layout, runtimeAddress,
                head, headSource, tstateCurrentAddress, codeType);
        if (!exportsRuntime) {
            // 3.6: the global _Py_Finalizing (exported); 2.7 has no such variable. 2.7 and 3.6 keep the
            // collector's state in gcmodule.c's static `collecting`: a local symbol, in .symtab only (pyenv
            // builds have it; Debian's stripped ones need their debug file).
            long finalizing = located.finalizingAddress() == 0
                    ? defined(elf, "_Py_Finalizing", true).map(s -> bias + s.value()).orElse(0L) : 0;
            long collecting = located.gcCollectingAddress() == 0 && !version.isAtLeast(3, 7)
                    ? defined(elf, "collecting", true).filter(s -> s.size() == 4).map(s -> bias + s.value()).orElse(0L)
                    : 0;
            located = located.withGlobals(finalizing, collecting);
        }
        LOG.debug("process {}: {}", pid, located);
        return Optional.of(located);
    }
}
