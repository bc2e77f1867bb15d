package dev.spyglass.internal.kernel;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.ToLongFunction;

import dev.spyglass.SpyglassException;
import dev.spyglass.internal.os.LongMap;

/**
 * The threads a set of per-thread perf events follows, by TID: what {@link KernelCallchains} and
 * {@link UserStackSamples} share. {@link #track} opens what a look lists anew and releases what it no
 * longer lists; it also counts the records the kernel dropped ({@link #lost}), of the threads followed now and of
 * those released. Used from one thread at a time.
 *
 * @param <T> what is kept per thread (its descriptors, ring, latest record)
 */
final class FollowedThreads<T> {

    /** Opens what is followed of thread {@code tid}; null when it is not followed (it exited, no descriptors left). */
    @FunctionalInterface
    interface Opener<T> {
        T open(int tid) throws SpyglassException;
    }

    private static final class Entry<T> {
        final int tid;
        final T value;
        long seen;

        Entry(int tid, T value) {
            this.tid = tid;
            this.value = value;
        }
    }

    private final List<Entry<T>> entries = new ArrayList<>();
    private LongMap<Entry<T>> byTid = new LongMap<>(64);
    private long generation;
    private final ToLongFunction<T> lostOf;
    private final ToLongFunction<T> takenOf;
    /** The lost records of the threads no longer followed. */
    private long lostBefore;
    /** The samples taken of the threads no longer followed. */
    private long takenBefore;

    /**
     * @param lostOf  the records the kernel dropped for one thread so far
     * @param takenOf the samples the kernel took of one thread so far (read, and dropped)
     */
    FollowedThreads(ToLongFunction<T> lostOf, ToLongFunction<T> takenOf) {
        this.lostOf = lostOf;
        this.takenOf = takenOf;
    }

    /** Counting no samples taken. */
    FollowedThreads(ToLongFunction<T> lostOf) {
        this(lostOf, t -> 0);
    }

    private void retire(T value) {
        lostBefore += lostOf.applyAsLong(value);
        takenBefore += takenOf.applyAsLong(value);
    }

    /**
     * Follows exactly {@code tids[0..count)}: {@code opener} for each TID not yet followed, {@code release}
     * for each followed one not listed.
     */
    void track(int[] tids, int count, Opener<T> opener, Consumer<T> release) throws SpyglassException {
        long gen = ++generation;
        for (int i = 0; i < count; i++) {
            Entry<T> e = byTid.get(tids[i]);
            if (e == null) {
                T value = opener.open(tids[i]);
                if (value != null) {
                    e = new Entry<>(tids[i], value);
                    entries.add(e);
                    byTid.put(tids[i], e);
                }
            }
            if (e != null) {
                e.seen = gen;
            }
        }
        boolean removed = false;
        for (int i = entries.size() - 1; i >= 0; i--) {
            if (entries.get(i).seen != gen) {
                T value = entries.remove(i).value;
                retire(value);
                release.accept(value);
                removed = true;
            }
        }
        if (removed) {
            reindex();
        }
    }

    /** Stops following {@code tid} (its value is released by the caller); nothing when it is not followed. */
    void remove(int tid) {
        Entry<T> e = byTid.get(tid);
        if (e != null) {
            retire(e.value);
            entries.remove(e);
            reindex();
        }
    }

    /** LongMap has no removal: rebuilt from the threads still followed. */
    private void reindex() {
        LongMap<Entry<T>> index = new LongMap<>(64);
        for (Entry<T> e : entries) {
            index.put(e.tid, e);
        }
        byTid = index;
    }

    /** What is kept for {@code tid}, or null when it is not followed. */
    T get(int tid) {
        Entry<T> e = byTid.get(tid);
        return e == null ? null : e.value;
    }

    int size() {
        return entries.size();
    }

    /** The {@code i}-th followed thread's value, {@code 0 <= i < size()}. */
    T at(int i) {
        return entries.get(i).value;
    }

    /** The records the kernel dropped, over every thread followed so far. */
    long lost() {
        long n = lostBefore;
        for (Entry<T> e : entries) {
            n += lostOf.applyAsLong(e.value);
        }
        return n;
    }

    /** The samples the kernel took (as {@code takenOf} counts them), over every thread followed so far. */
    long taken() {
        long n = takenBefore;
        for (Entry<T> e : entries) {
            n += takenOf.applyAsLong(e.value);
        }
        return n;
    }

    /** Releases every followed thread and forgets them. */
    void clear(Consumer<T> release) {
        for (Entry<T> e : entries) {
            retire(e.value);
            release.accept(e.value);
        }
        entries.clear();
        byTid = new LongMap<>(64);
    }
}
