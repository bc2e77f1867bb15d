package dev.spyglass.internal.leaks;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.SpyglassException;
import dev.spyglass.elf.ElfFile;
import dev.spyglass.elf.Symbol;
import dev.spyglass.internal.os.MemoryFault;
import dev.spyglass.internal.os.ProcessMap;
import dev.spyglass.internal.os.RemoteMemory;
import dev.spyglass.internal.python.Target;

/**
 * Watches the allocator tables the probes were chosen by. A tracker picks its probe points (and, redirected, the
 * table slots) at attach; a target may install another allocator later ({@code PyMem_SetAllocator}: tracemalloc's
 * {@code start()} and {@code stop()}, the debug hooks, a C extension; {@code PyObject_SetArenaAllocator} for
 * arenas), and then the probes may no longer see its calls. Each {@link #check} re-reads the tables (one 40-byte
 * read each, from the target's memory: no stop) and keeps every change, saying whether the probes still see the
 * calls. They do when the table is the one of attach, or its allocation function is a probed one (a build probed
 * by symbol, {@code _PyObject_Malloc}, once tracemalloc stops), or it holds a hook that keeps, at its context or
 * 8 bytes into it, a copy of a table whose calls are seen, and so calls it (tracemalloc's hooks keep
 * {@code &allocators.obj}; the debug hooks, 3.6 - 3.15, {@code &_PyMem_Debug.obj}: a one-byte api id, then the
 * table). They do not when, on a Debian LTO build probed through tracemalloc's hooks, tracemalloc stops: the default
 * table is back and its inlined copies of pymalloc call nothing probed.
 * Used from the polling thread only.
 */
public final class AllocatorWatch {
    private static final Logger LOG = LoggerFactory.getLogger(AllocatorWatch.class);
    /** Where a hook keeps the table it replaced, from its context: tracemalloc's and the debug hooks'. */
    private static final int[] COPY_AT = {0, 8};
    /** Hooks followed down to the table they call at most (tracemalloc over the debug hooks is two). */
    private static final int DEPTH = 4;

    /**
     * A table that changed between two reads.
     *
     * @param time    {@link System#nanoTime} of the read that saw it
     * @param domain  {@code obj}, {@code mem}, {@code raw} or {@code arena}
     * @param before  the table's allocation function before ({@code malloc}; {@code alloc} for arenas)
     * @param after   and after
     * @param seen    whether the probes still saw the calls made through the table
     * @param movedTo empty, or the probe points the probes were moved to at the same poll ({@link #reaimed})
     */
    public record Change(long time, String domain, long before, long after, boolean seen, String movedTo) {
    }

    private static final class Watched {
        final String domain;
        final long address;
        final long[] atAttach;
        /** Addresses in the target of the probed functions that serve this table's allocations. */
        final long[] probed;
        long[] last;

        Watched(String domain, long address, long[] atAttach, long[] probed) {
            this.domain = domain;
            this.address = address;
            this.atAttach = atAttach;
            this.last = atAttach;
            this.probed = probed;
        }
    }

    private final RemoteMemory memory;
    private final long pid;
    private final String object;
    private final List<Watched> watched;
    private final String unwatched;
    private final List<Change> changes = new ArrayList<>();
    private final MemorySegment buffer = Arena.ofAuto().allocate(40, 8);

    private AllocatorWatch(RemoteMemory memory, long pid, String object, List<Watched> watched, String unwatched) {
        this.memory = memory;
        this.pid = pid;
        this.object = object;
        this.watched = watched;
        this.unwatched = unwatched;
    }

    /**
     * The tables the probes of a level depend on, as the target holds them now: obj and mem (both pymalloc) at the
     * exact level; raw at the coarse level, and the arena table where arenas are probed.
     *
     * @param file how this process opens the interpreter's object
     */
    /**
     * @param allocOffset  file offset in the interpreter's object of the probed allocation function
     * @param arenaOffset  of the probed arena allocation function (coarse level), -1 when arenas are not probed
     */
    public static AllocatorWatch attach(Target target, Path file, boolean coarse, long allocOffset, long arenaOffset)
            throws SpyglassException {
        boolean arenas = arenaOffset >= 0;
        ProcessMap map = ProcessMap.read(target.pid());
        String object = target.interpreter().objectPath();
        List<Watched> found = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        String[][] domains = coarse ? new String[][] {{"raw", "PyMem_Raw"}}
                : new String[][] {{"obj", "PyObject_"}, {"mem", "PyMem_"}};
        RemoteMemory memory = target.memory();
        try (ElfFile elf = ElfFile.open(file)) {
            long bias = target.interpreter().loadBias();
            for (String[] d : domains) {
                Optional<Symbol> m = defined(elf.dynamicSymbol(d[1] + "Malloc"));
                Optional<Symbol> f = defined(elf.dynamicSymbol(d[1] + "Free"));
                OptionalLong at = m.isEmpty() || f.isEmpty() ? OptionalLong.empty()
                        : AllocatorTable.locate(memory, bias + m.get().value(), bias + f.get().value());
                if (at.isEmpty()) {
                    missing.add(d[0]);
                    continue;
                }
                found.add(new Watched(d[0], at.getAsLong(), null, addresses(map, object, allocOffset)));
            }
            if (coarse && arenas) {
                Optional<Symbol> getter = defined(elf.dynamicSymbol("PyObject_GetArenaAllocator"));
                Optional<ArenaTable.Contents> t = getter.isEmpty() ? Optional.empty()
                        : ArenaTable.read(memory, bias + getter.get().value());
                if (t.isPresent()) {
                    found.add(new Watched("arena", t.get().address(), null, addresses(map, object, arenaOffset)));
                } else {
                    missing.add("arena");
                }
            }
        } catch (IOException | RuntimeException e) {
            throw new SpyglassException("cannot read the symbols of " + file + " to watch its allocator tables: " + e);
        }
        AllocatorWatch w = new AllocatorWatch(memory, target.pid(), object, new ArrayList<>(), missing.isEmpty() ? ""
                : "allocator tables not watched (their code is not decoded): " + String.join(", ", missing));
        for (Watched x : found) {
            long[] now = w.read(x.domain, x.address);
            if (now == null) {
                w.missing(x.domain);
            } else {
                w.watched.add(new Watched(x.domain, x.address, now, x.probed));
            }
        }
        LOG.debug("allocator tables watched in pid {}: {}", target.pid(), w.watched.stream()
                .map(x -> x.domain + "@0x" + Long.toHexString(x.address)).toList());
        return w;
    }

    private void missing(String domain) {
        LOG.debug("allocator table {} unreadable at attach: not watched", domain);
    }

    /**
     * Re-reads every table; the changes since the last check are kept ({@link #changes}) and returned.
     *
     * @param time {@link System#nanoTime} now
     */
    public List<Change> check(long time) throws SpyglassException {
        List<Change> found = List.of();
        for (Watched w : watched) {
            long[] now = read(w.domain, w.address);
            if (now == null || Arrays.equals(now, w.last)) {
                continue; // unreadable: the target is exiting; the next poll says so
            }
            boolean seen = seen(w, now, 0);
            Change c = new Change(time, w.domain, w.last[1], now[1], seen, "");
            LOG.info("the {} allocator table of the target changed: 0x{} -> 0x{} ({})", w.domain,
                    Long.toHexString(c.before()), Long.toHexString(c.after()),
                    seen ? "it calls what the probes see" : "its calls are not seen");
            w.last = now;
            changes.add(c);
            if (found.isEmpty()) {
                found = new ArrayList<>();
            }
            found.add(c);
        }
        return found;
    }

    /** Whether the calls through a table holding {@code table} reach the probes (see the class comment). */
    private boolean seen(Watched w, long[] table, int depth) throws SpyglassException {
        if (Arrays.equals(table, w.atAttach)) {
            return true;
        }
        for (long p : w.probed) {
            if (table[1] == p) {
                return true;
            }
        }
        if (depth >= DEPTH || table[0] == 0) {
            return false;
        }
        for (int off : COPY_AT) {
            MemorySegment s = buffer.asSlice(0, table.length * 8L);
            try {
                memory.read(table[0] + off, s);
            } catch (MemoryFault e) {
                continue;
            }
            long[] copy = s.toArray(ValueLayout.JAVA_LONG);
            // a table's slots hold code addresses: a context that merely points at zeros or data is no copy
            if (copy[1] != 0 && copy[copy.length - 1] != 0 && !Arrays.equals(copy, table)
                    && seen(w, copy, depth + 1)) {
                return true;
            }
        }
        return false;
    }

    /** Where the target maps the code at {@code fileOffset} of {@code object} (none when it does not). */
    private static long[] addresses(ProcessMap map, String object, long fileOffset) {
        return map.codeAddresses(m -> m.path().equals(object), fileOffset);
    }

    /** The table's words ({@code ctx, malloc, calloc, realloc, free}; {@code ctx, alloc, free} for arenas). */
    private long[] read(String domain, long address) throws SpyglassException {
        MemorySegment s = buffer.asSlice(0, domain.equals("arena") ? 24 : 40);
        try {
            memory.read(address, s);
        } catch (MemoryFault e) {
            return null;
        }
        return s.toArray(ValueLayout.JAVA_LONG);
    }

    /**
     * The probes were moved to new points ({@code allocOffset} their allocation function's file offset) for the
     * tables as they are now: from here on, a table is seen relative to those (the arena table keeps its own).
     */
    public void rebase(long allocOffset) throws SpyglassException {
        ProcessMap map = ProcessMap.read(pid);
        for (int i = 0; i < watched.size(); i++) {
            Watched w = watched.get(i);
            if (!w.domain.equals("arena")) {
                Watched n = new Watched(w.domain, w.address, w.last, addresses(map, object, allocOffset));
                watched.set(i, n);
            }
        }
    }

    /** Marks {@code these} changes (of the last {@link #check}) as followed by probes moved to {@code to}. */
    public void reaimed(List<Change> these, String to) {
        for (int i = 0; i < changes.size(); i++) {
            Change c = changes.get(i);
            if (these.contains(c) && !c.domain().equals("arena")) {
                changes.set(i, new Change(c.time(), c.domain(), c.before(), c.after(), c.seen(), to));
            }
        }
    }

    /** Every change seen so far, oldest first. */
    public List<Change> changes() {
        return List.copyOf(changes);
    }

    /** The domains watched, e.g. {@code obj, mem}. */
    public String domains() {
        return String.join(", ", watched.stream().map(w -> w.domain).toList());
    }

    /** Empty, or which tables could not be found and so are not watched. */
    public String unwatched() {
        return unwatched;
    }

    private static Optional<Symbol> defined(Optional<Symbol> s) {
        return s.filter(x -> x.isDefined() && x.isFunction() && x.value() != 0);
    }
}
