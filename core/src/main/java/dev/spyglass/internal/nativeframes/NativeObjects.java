package dev.spyglass.internal.nativeframes;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.elf.ElfFile;
import dev.spyglass.elf.Symbol;
import dev.spyglass.elf.UnwindTable;
import dev.spyglass.internal.os.ProcessMap;

/**
 * The executable objects mapped into one process, as the unwinder needs them: for an address, the
 * object's call-frame table, its load bias and its symbols. Each file is opened and its table built
 * once, on first use (building libpython 3.12's takes about 10 ms warm), and kept until {@link #close()}.
 * A file that cannot be read or parsed is remembered as such and never retried.
 */
public final class NativeObjects implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NativeObjects.class);

    /** One mapped object: its file, table and load bias; null fields when it could not be read. */
    record MappedObject(String path, ElfFile elf, UnwindTable table, long bias, ElfFile symbols) {
    }

    /** How often at most the process's mappings are read again when an address is in none of them. */
    private static final long REFRESH_NANOS = 200_000_000L;

    private ProcessMap map;
    private final Map<String, MappedObject> byPath = new HashMap<>();
    /** Never yet: the first miss reads the mappings again (a launched target's loader may still be mapping). */
    private long lastRefresh = System.nanoTime() - REFRESH_NANOS - 1;

    public NativeObjects(ProcessMap map) {
        this.map = map;
    }

    /** The object whose executable mapping holds {@code address}; empty for anonymous or JIT code. */
    Optional<MappedObject> find(long address) {
        Optional<MappedObject> o = objectAt(address);
        return o.isPresent() && o.get().table() != null ? o : Optional.empty();
    }

    /**
     * The object mapped executable at {@code address}, even one whose file could not be read (its
     * fields are then null); empty for anonymous memory. An address in no mapping makes the process's
     * mappings be read again (at most every 200 ms): a library loaded after attach ({@code import numpy}
     * dlopen's its extension modules) is found from then on.
     */
    Optional<MappedObject> objectAt(long address) {
        Optional<ProcessMap.Mapping> m = map.find(address);
        if (m.isEmpty() && System.nanoTime() - lastRefresh > REFRESH_NANOS) {
            lastRefresh = System.nanoTime();
            try {
                map = ProcessMap.read(map.pid());
                m = map.find(address);
            } catch (dev.spyglass.SpyglassException e) {
                LOG.debug("cannot read the mappings of process {} again: {}", map.pid(), e.toString());
            }
        }
        if (m.isEmpty() || !m.get().isFile() || !m.get().executable()) {
            return Optional.empty();
        }
        ProcessMap.Mapping mapping = m.get();
        MappedObject o = byPath.get(mapping.path());
        if (o == null) {
            o = open(mapping);
            byPath.put(mapping.path(), o);
        }
        return Optional.of(o);
    }

    private MappedObject open(ProcessMap.Mapping mapping) {
        Optional<Path> path = map.openablePath(mapping);
        if (path.isEmpty()) {
            return new MappedObject(mapping.path(), null, null, 0, null);
        }
        ElfFile elf = null;
        try {
            elf = ElfFile.open(path.get());
            UnwindTable table = UnwindTable.of(elf);
            long bias = elf.loadBias(mapping.start(), mapping.fileOffset());
            ElfFile symbols = elf;
            // A stripped object names its static functions only in its separate debug file, when installed.
            if (elf.section(".symtab").isEmpty()) {
                Optional<Path> debug = elf.findDebugFile(path.get());
                if (debug.isPresent()) {
                    symbols = ElfFile.open(debug.get());
                }
            }
            return new MappedObject(mapping.path(), elf, table, bias, symbols);
        } catch (IOException | IllegalArgumentException e) {
            LOG.debug("no call-frame table for {}: {}", mapping.path(), e.toString());
            if (elf != null) {
                elf.close();
            }
            return new MappedObject(mapping.path(), null, null, 0, null);
        }
    }

    /**
     * The function at run-time {@code address}: its symbol's name, without version and demangled
     * ({@link SymbolNames#readable}), when a symbol's range holds it, else
     * empty (the caller shows the object and offset, never the nearest symbol's name: it would be wrong
     * for a static function of a stripped object).
     */
    Optional<String> symbolize(MappedObject o, long address) {
        if (o.symbols() == null) {
            return Optional.empty();
        }
        Optional<Symbol> s = o.symbols().symbolAt(address - o.bias());
        return s.map(sym -> SymbolNames.readable(sym.name()));
    }

    @Override
    public void close() {
        for (MappedObject o : byPath.values()) {
            if (o.symbols() != null && o.symbols() != o.elf()) {
                o.symbols().close();
            }
            if (o.elf() != null) {
                o.elf().close();
            }
        }
        byPath.clear();
    }
}
