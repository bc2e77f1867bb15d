package dev.spyglass.internal.python;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.SpyglassException;
import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.cpython.abi.MalformedObjectException;
import dev.spyglass.cpython.abi.StringDecoder;
import dev.spyglass.internal.os.LongMap;
import dev.spyglass.internal.os.MemoryFault;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * Thread names as Python knows them: {@code threading._active} (ident → {@code Thread}) of each
 * interpreter, read from {@code sys.modules} ({@code interp->modules}) → {@code "threading"} →
 * {@code md_dict} → {@code "_active"}, then each {@code Thread}'s {@code _name} ({@code _Thread__name} on
 * 2.7) from its instance {@code __dict__}: a real dict (≤3.10, or once materialised), or on 3.11+ values
 * shared with the class's cached keys (3.11: a values pointer before the object; 3.12: a tagged
 * {@code PyDictOrValues} before it; 3.13+: inline values after {@code tp_basicsize}).
 *
 * <p>Cheap in steady state: a look-up costs two hash-map probes and a clock read. The registry is re-read
 * when a thread not seen before appears (at most every {@value #MIN_GAP_MILLIS} ms, or ten times as long
 * as the previous read took, so that reading names costs at most a tenth of the sampler's time) and every
 * {@value #REFRESH_MILLIS} ms (so renames show within a second); the address of {@code _active} is kept
 * between refreshes and checked to still be a dict. Everything read is bounded (table sizes, thread count,
 * name length) and checked; whatever fails leaves the thread without a name here (the caller falls back to
 * the kernel's name) and never throws. Before {@code threading} is imported (a script that never
 * imports it) there is no registry, and every thread, the main one included, keeps its kernel name.
 */
final class ThreadNames {
    private static final Logger LOG = LoggerFactory.getLogger(ThreadNames.class);

    static final long REFRESH_MILLIS = 1000;
    static final long MIN_GAP_MILLIS = 2;
    private static final long MAX_GAP_NANOS = 100_000_000L;
    /**
     * A thread the registry does not name is looked for again this many times, at doubling gaps from the
     * least one (a thread is seen in threading's _bootstrap before it registers), then only at the periodic
     * refresh: a thread started outside threading costs a few reads, not one per look.
     */
    static final int MAX_RETRIES = 4;
    private static final long REFRESH_NANOS = REFRESH_MILLIS * 1_000_000L;
    private static final long MIN_GAP_NANOS = MIN_GAP_MILLIS * 1_000_000L;
    private static final long FIRST_RESOLVE_GAP_NANOS = 20_000_000L;
    private static final int MAX_THREADS = 4096;
    private static final long PY_TPFLAGS_STRING_SUBCLASS = 1L << 27;
    private static final long PY_TPFLAGS_UNICODE_SUBCLASS = 1L << 28;

    /** One interpreter's registry. */
    private static final class Registry {
        long active;
        long lastRefresh = Long.MIN_VALUE / 2;
        long lastResolve = Long.MIN_VALUE / 2;
        /** Wait before walking sys.modules again while threading is not found: doubles up to the refresh period. */
        long resolveGap = FIRST_RESOLVE_GAP_NANOS;
        /** When {@link #names} was last read whole: names of threads first seen before then are theirs. */
        long namesReadAt = Long.MIN_VALUE / 2;
        LongMap<String> names = new LongMap<>(16);
        /** Per thread ({@link #threadKey}): the ident it was seen with and when, and when to look again. */
        final LongMap<Seen> threads = new LongMap<>(16);
    }

    /** A thread as last seen: a new one (or a new ident) resets {@link #firstSeen}. */
    private static final class Seen {
        long ident;
        long firstSeen;
        long retryAt;
        long retryGap;
        int retries;
        /** The registry's latest name for this thread, kept once the thread leaves {@code _active}. */
        String name;
    }

    private final long pid;
    private final RemoteMemory memory;
    private final Layout layout;
    private final RemoteObjects objects;
    private final boolean py2;
    private final String nameKey;
    private final RemoteDicts.Entries outer = new RemoteDicts.Entries();
    private final RemoteDicts dicts;
    private final LongMap<Registry> registries = new LongMap<>(8);
    /** A thread's {@link #nameKey} in its instance dict; its type caches are cleared per refresh. */
    private final InstanceAttributes attributes;
    private long refreshes;
    /** When the latest look began reading thread states ({@link #look}); a thread is first seen then. */
    private long lookNanos = Long.MIN_VALUE / 2;
    /** Whether {@link #look} was ever called: without looks (tests) every thread counts as seen long ago. */
    private boolean looks;
    /** The least time between two reads of a registry: {@value #MIN_GAP_MILLIS} ms or 10× the last read. */
    private long minGapNanos = MIN_GAP_NANOS;

    ThreadNames(long pid, RemoteMemory memory, Layout layout, StringDecoder strings) {
        this.pid = pid;
        this.memory = memory;
        this.layout = layout;
        this.objects = new RemoteObjects(memory, layout, strings, 256);
        this.dicts = new RemoteDicts(memory, layout, objects);
        this.attributes = new InstanceAttributes(memory, layout, dicts, objects);
        this.py2 = layout.version().major() == 2;
        // 2.7's Thread.__init__ sets self.__name, mangled to _Thread__name.
        this.nameKey = py2 ? "_Thread__name" : "_name";
    }

    /**
     * A look at the thread states begins now: threads {@link #name named} until the next look were read
     * after this time, so a registry read after it (even while naming them) saw them under their idents.
     */
    void look(long nanos) {
        lookNanos = nanos;
        looks = true;
    }

    /** How many times a registry was (re)read, for tests and benchmarks. */
    long refreshes() {
        return refreshes;
    }

    /**
     * The {@code threading} name of {@code t}, or null when the registry does not name it (the caller
     * then uses the kernel's name).
     *
     * <p>{@code _active} is keyed by ident, and glibc hands a joined thread's {@code pthread_t} (Python's
     * ident) to the next thread it starts: a name read before a thread was first seen may be its
     * predecessor's. So names are tied to the thread ({@link #threadKey}: TID and start time), and only a
     * registry read after the thread was first seen under its ident names it; until then (at most
     * {@value #MIN_GAP_MILLIS} ms, see {@link #minGapNanos}) it has no name here. A thread not (yet) in the
     * registry is looked for again after that gap, then at doubling gaps ({@value #MAX_RETRIES} times), then
     * at the periodic refresh.
     * The gaps are short because threads of a thread-per-request server live for milliseconds.
     */
    String name(ThreadRecord t) {
        long ident = t.pythonThreadId;
        long key = t.interpreterId + 1;
        if (ident == 0 || key == 0 || !layout.has(Field.MODULE_DICT) || !layout.has(Field.INTERP_MODULES)) {
            return null;
        }
        Registry reg = registries.get(key);
        if (reg == null) {
            if (registries.size() > 64) {
                registries.clear();
            }
            reg = new Registry();
            registries.put(key, reg);
        }
        long now = System.nanoTime();
        long who = threadKey(t);
        Seen seen = reg.threads.get(who);
        if (seen == null || seen.ident != ident) {
            if (seen == null) {
                if (reg.threads.size() >= MAX_THREADS) {
                    reg.threads.clear();
                }
                seen = new Seen();
                reg.threads.put(who, seen);
            }
            seen.ident = ident;
            seen.name = null;
            seen.firstSeen = looks ? lookNanos : Long.MIN_VALUE / 2;
            seen.retryAt = now;
            seen.retryGap = minGapNanos;
            seen.retries = 0;
        }
        if (who == t.tstate && looks) {
            // TID unknown (a thread ending, or struct pthread not calibrated yet): its thread state's
            // address is reused as much as its ident, so only a registry read in this look names it.
            seen.firstSeen = lookNanos;
            seen.name = null;
        }
        String n = reg.namesReadAt - seen.firstSeen >= 0 ? reg.names.get(ident) : null;
        long since = now - reg.lastRefresh;
        // While threading is not imported (reg.active 0), its import is looked for at the registry's own
        // doubling gaps, whatever this thread's retries.
        boolean importDue = reg.active == 0 && now - reg.lastResolve >= reg.resolveGap;
        if (since > REFRESH_NANOS || (n == null && (importDue || since > minGapNanos && now - seen.retryAt >= 0
                && seen.retries < MAX_RETRIES))) {
            refresh(reg, t, now);
            if (n == null) {
                seen.retries++;
                seen.retryAt = now + seen.retryGap;
                seen.retryGap = Math.min(seen.retryGap * 2, REFRESH_NANOS);
            }
            n = reg.namesReadAt - seen.firstSeen >= 0 ? reg.names.get(ident) : null;
        }
        if (n == null) {
            // A thread that ends runs on after threading's _delete() took it out of _active (and 3.13+
            // threads are registered slightly after they start): it keeps the name it had.
            return seen.name;
        }
        seen.name = n;
        return n;
    }

    /**
     * Identifies a thread for the life of the machine: its TID with its start time (2^22 bounds a TID on
     * Linux), else the TID, else (TID unknown) its thread state's address.
     */
    static long threadKey(ThreadRecord t) {
        if (t.nativeThreadId > 0) {
            return t.startTime > 0 ? (t.startTime << 22) | t.nativeThreadId : t.nativeThreadId;
        }
        return t.tstate;
    }

    private void refresh(Registry reg, ThreadRecord t, long now) {
        reg.lastRefresh = now;
        refreshes++;
        try {
            read(reg, t, now);
        } finally {
            minGapNanos = Math.clamp(10 * (System.nanoTime() - now), MIN_GAP_NANOS, MAX_GAP_NANOS);
        }
    }

    private void read(Registry reg, ThreadRecord t, long now) {
        attributes.clear();
        try {
            if (reg.active != 0 && !dicts.isDict(reg.active)) {
                reg.active = 0;
            }
            if (reg.active == 0) {
                // Walking sys.modules costs a read per module: at doubling gaps up to once per refresh period.
                // A launched program imports threading within milliseconds of its start, so its threads have
                // their Python names from then on, not a second later; a program that never imports it costs
                // a walk a second in the end.
                if (now - reg.lastResolve < reg.resolveGap) {
                    return;
                }
                reg.lastResolve = now;
                reg.active = resolve(t);
                if (reg.active == 0) {
                    reg.resolveGap = Math.min(reg.resolveGap * 2, REFRESH_NANOS);
                    return;
                }
            }
            LongMap<String> fresh = new LongMap<>(Math.max(16, reg.names.size() * 2));
            dicts.entries(reg.active, outer);
            int n = Math.min(outer.count, MAX_THREADS);
            long[] idents = new long[n];
            long[] threads = new long[n];
            String[] found = new String[n];
            System.arraycopy(outer.hashes, 0, idents, 0, n);
            System.arraycopy(outer.values, 0, threads, 0, n);
            for (int i = 0; i < n; i++) {
                // hash(int) is the int itself below 2**61 - 1, and pthread_t values are addresses.
                if (idents[i] == 0 || idents[i] == -1) {
                    continue;
                }
                try {
                    found[i] = threadName(threads[i]);
                } catch (MemoryFault | MalformedObjectException e) {
                    // This Thread ended (or its dict was resized) while we read: the others still count.
                    LOG.debug("process {}: name of thread {} not read ({})", pid, idents[i], e.toString());
                }
            }
            // A Thread that ended while its name was read may have been freed and its memory reused (seen
            // on 2.7 under churn: a name "exc_value" from some other object's dict): keep a name only when
            // _active, read again, still maps its ident to the same Thread object.
            dicts.entries(reg.active, outer);
            LongMap<Long> still = new LongMap<>(16);
            for (int i = 0; i < Math.min(outer.count, MAX_THREADS); i++) {
                if (outer.hashes[i] != 0) {
                    still.put(outer.hashes[i], outer.values[i]);
                }
            }
            for (int i = 0; i < n; i++) {
                Long now2 = found[i] == null ? null : still.get(idents[i]);
                if (now2 != null && now2 == threads[i]) {
                    fresh.put(idents[i], found[i]);
                }
            }
            reg.names = fresh;
            reg.namesReadAt = now;
        } catch (MemoryFault | MalformedObjectException | SpyglassException | RuntimeException e) {
            // Torn read (a dict resized while we read it) or the process is exiting: keep the names
            // found before, look again at the next refresh.
            LOG.debug("process {}: threading registry not read ({})", pid, e.toString(), e);
            reg.active = 0;
            reg.lastResolve = Long.MIN_VALUE / 2;
        }
    }

    /** {@code threading._active} of {@code t}'s interpreter, or 0 when {@code threading} is not imported. */
    private long resolve(ThreadRecord t) throws MemoryFault, MalformedObjectException, SpyglassException {
        long interp = pointer(t.tstate + layout.require(Field.TSTATE_INTERP));
        long modules = pointer(interp + layout.require(Field.INTERP_MODULES));
        if (!dicts.knowsDictType() && !dicts.learnDictType(pointer(modules + layout.require(Field.OBJECT_TYPE)))) {
            throw new MalformedObjectException("interp->modules is not a dict");
        }
        long module = dicts.lookup(modules, "threading");
        if (module == 0) {
            LOG.debug("process {}: threading not imported (yet)", pid);
            return 0;
        }
        long md = pointer(module + layout.require(Field.MODULE_DICT));
        long active = dicts.lookup(md, "_active");
        return active != 0 && dicts.isDict(active) ? active : 0;
    }

    /** The name of the {@code Thread} at {@code thread}, or null. */
    private String threadName(long thread) throws MemoryFault, MalformedObjectException, SpyglassException {
        long value = attributes.get(thread, nameKey);
        if (value == 0 || (value & 7) != 0) {
            return null;
        }
        long type = pointer(value + layout.require(Field.OBJECT_TYPE));
        long flags = memory.readLong(type + layout.require(Field.TYPE_FLAGS));
        if ((flags & (py2 ? PY_TPFLAGS_STRING_SUBCLASS : PY_TPFLAGS_UNICODE_SUBCLASS)) == 0) {
            return null;
        }
        return objects.string(value);
    }

    private long pointer(long at) throws MemoryFault, MalformedObjectException, SpyglassException {
        return RemoteObjects.checkedPointer(memory.readLong(at));
    }
}
