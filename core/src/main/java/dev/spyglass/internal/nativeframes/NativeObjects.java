package dev.spyglass.internal.nativeframes;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.elf.ElfFile;
import dev.spyglass.elf.Symbol;
import dev.spyglass.elf.UnwindTable;
import dev.spyglass.internal.os.ProcessMap;

/**
 * The executable objects mapped into one process, as the unwinder needs them: for an address, the
 * object's call-frame table, its load bias and its symbols. Each file is opened and its table and symbol
 * index built once, and kept until {@link #close()}. A file that cannot be read or parsed is remembered as
 * such and never retried.
 *
 * <p>By default an object is built on first use, on the caller's thread. That takes long in a fresh JVM:
 * libpython 3.12 took 0.5 s at load 5 (open 132 ms, table 168 ms, symbol index 207 ms), during which a
 * sampling thread takes no sample. After {@link #buildInBackground} objects are built on two threads of
 * their own, from attach on, those every stack passes through first: the first looks find them built, or
 * wait for less than the whole build (and libpython's and libc's builds run side by side). A look waits for
 * an object at most {@link #MAX_WAIT_NANOS} in all; past that, the object is {@link MappedObject#pending()
 * pending} until built and samples that reach it go out without native frames, rather than the sampler
 * stalling on a file that cannot be read in time.
 */
public final class NativeObjects implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NativeObjects.class);

    /**
     * One mapped object: its file, table and load bias; null fields when it could not be read, or while it
     * is {@code pending} (being built in the background).
     */
    record MappedObject(String path, ElfFile elf, UnwindTable table, long bias, ElfFile symbols, boolean pending) {
        static MappedObject unreadable(String path) {
            return new MappedObject(path, null, null, 0, null, false);
        }
    }

    /** How often at most the process's mappings are read again when an address is in none of them. */
    private static final long REFRESH_NANOS = 200_000_000L;

    private ProcessMap map;
    /** By mapped path; each completed at once, or on {@link #builder} in the background. */
    private final Map<String, CompletableFuture<MappedObject>> byPath = new HashMap<>();
    /** Null: objects are built on first use by the caller. */
    private ExecutorService builder;
    /** A look waits at most this long in all for one object built in the background: 10 s. */
    static final long MAX_WAIT_NANOS = 10_000_000_000L;
    private long maxWaitNanos = MAX_WAIT_NANOS;
    /** Per object still being built: when waiting for it ends (the first wait's start plus the most). */
    private final Map<String, Long> waitEnds = new HashMap<>();
    /** Never yet: the first miss reads the mappings again (a launched target's loader may still be mapping). */
    private long lastRefresh = System.nanoTime() - REFRESH_NANOS - 1;

    public NativeObjects(ProcessMap map) {
        this.map = map;
    }

    /**
     * From now on, objects are built on two daemon threads of their own: first the mapped objects named in
     * {@code first} (the interpreter's, the program's), then libc and the dynamic loader, which nearly
     * every stack passes through, then any other object when an address first falls in it. Until then
     * {@link #objectAt} waits for that object (at most {@link #MAX_WAIT_NANOS}, then gives it as
     * {@link MappedObject#pending() pending}).
     */
    void buildInBackground(List<String> first) {
        int threads = Math.min(2, Runtime.getRuntime().availableProcessors());
        buildInBackground(first, Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "spyglass-native-tables-" + map.pid());
            t.setDaemon(true);
            return t;
        }), MAX_WAIT_NANOS);
    }

    /**
     * {@link #buildInBackground(List)} on {@code executor}, which {@link #close()} shuts down, a look waiting
     * at most {@code maxWaitNanos} for an object.
     */
    void buildInBackground(List<String> first, ExecutorService executor, long maxWaitNanos) {
        if (builder != null) {
            executor.shutdown();
            return;
        }
        builder = executor;
        this.maxWaitNanos = maxWaitNanos;
        for (String path : first) {
            map.mappings().stream().filter(m -> m.executable() && m.path().equals(path)).findFirst()
                    .ifPresent(this::entry);
        }
        for (ProcessMap.Mapping m : map.mappings()) {
            String name = m.path().substring(m.path().lastIndexOf('/') + 1);
            if (name.startsWith("libc.so") || name.startsWith("libc-") || name.startsWith("ld-linux")
                    || name.startsWith("ld-musl")) {
                entry(m);
            }
        }
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
     * dlopen's its extension modules) is found from then on. After {@link #buildInBackground}, an object
     * still being built is waited for, and given {@link MappedObject#pending() pending} once its wait is over.
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
        CompletableFuture<MappedObject> f = entry(mapping);
        MappedObject o = f.getNow(null);
        if (o == null) {
            o = await(mapping.path(), f);
        }
        return Optional.of(o != null ? o : new MappedObject(mapping.path(), null, null, 0, null, true));
    }

    /** The object once built, waiting until its wait ends; null when it has not been built by then. */
    private MappedObject await(String path, CompletableFuture<MappedObject> f) {
        long now = System.nanoTime();
        long end = waitEnds.computeIfAbsent(path, p -> now + maxWaitNanos);
        if (end - now <= 0) {
            return null;
        }
        try {
            return f.get(end - now, java.util.concurrent.TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            LOG.debug("{} not built after {} ms: its samples go out without native frames until it is", path,
                    maxWaitNanos / 1_000_000);
            return null;
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.CancellationException e) {
            return MappedObject.unreadable(path); // not thrown by build(), which catches what it can
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** The object mapped by {@code mapping}, built now or, in the background, started. */
    private CompletableFuture<MappedObject> entry(ProcessMap.Mapping mapping) {
        if (!mapping.isFile() || !mapping.executable()) {
            return CompletableFuture.completedFuture(MappedObject.unreadable(mapping.path()));
        }
        CompletableFuture<MappedObject> f = byPath.get(mapping.path());
        if (f == null) {
            ProcessMap current = map;
            f = builder == null ? CompletableFuture.completedFuture(build(current, mapping))
                    : CompletableFuture.supplyAsync(() -> build(current, mapping), builder);
            byPath.put(mapping.path(), f);
        }
        return f;
    }

    /** Opens the mapped file and builds its table and symbol index; unreadable when any of that fails. */
    private static MappedObject build(ProcessMap map, ProcessMap.Mapping mapping) {
        ElfFile elf = null;
        ElfFile symbols = null;
        try {
            Optional<Path> path = map.openablePath(mapping);
            if (path.isEmpty()) {
                return MappedObject.unreadable(mapping.path());
            }
            elf = ElfFile.open(path.get());
            UnwindTable table = UnwindTable.of(elf);
            long bias = elf.loadBias(mapping.start(), mapping.fileOffset());
            symbols = elf;
            // A stripped object names its static functions only in its separate debug file, when installed.
            if (elf.section(".symtab").isEmpty()) {
                Optional<Path> debug = elf.findDebugFile(path.get());
                if (debug.isPresent()) {
                    symbols = ElfFile.open(debug.get());
                }
            }
            // The symbol index is built on its first look-up: here, not on the sampling thread.
            symbols.symbolAt(0);
            return new MappedObject(mapping.path(), elf, table, bias, symbols, false);
        } catch (IOException | RuntimeException e) {
            // RuntimeException too: on the background thread nothing else would see it.
            LOG.debug("no call-frame table for {}: {}", mapping.path(), e.toString());
            closeFiles(new MappedObject(mapping.path(), elf, null, 0, symbols, false));
            return MappedObject.unreadable(mapping.path());
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

    /**
     * Closes every object's files. A build still running in the background is interrupted; one that ends
     * all the same has its files closed as it ends, and builds not started never start.
     */
    @Override
    public void close() {
        if (builder != null) {
            builder.shutdownNow();
        }
        for (CompletableFuture<MappedObject> f : byPath.values()) {
            f.thenAccept(NativeObjects::closeFiles);
        }
        byPath.clear();
    }

    private static void closeFiles(MappedObject o) {
        if (o.symbols() != null && o.symbols() != o.elf()) {
            o.symbols().close();
        }
        if (o.elf() != null) {
            o.elf().close();
        }
    }
}
