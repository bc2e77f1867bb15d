package dev.spyglass.export;

/**
 * How the aggregating formats (collapsed, speedscope, pprof, HTML) group threads under their roots. Every
 * grouping names a thread by its latest name (a thread named {@code python3} until {@code threading} was
 * imported, then {@code MainThread}, is one {@code MainThread} for its whole life), and tells threads apart by
 * kernel TID and start time, never by a reused TID or Python ident alone. A root that holds one thread is
 * labelled {@code thread <TID> (<name>)}; one that holds several, {@code <name or pattern> (<n> threads)}.
 * Streaming formats (Austin, JSON lines) write each sample's own thread and ignore this setting.
 */
public enum ThreadGrouping {
    /** One root per thread (per kernel TID and start time). */
    EACH,
    /** One root per thread name: threads that share a name are merged. */
    NAME,
    /**
     * One root per name pattern, the name with each run of digits replaced by {@code *}: the workers of a pool
     * ({@code ThreadPoolExecutor-0_3}, {@code ThreadPoolExecutor-0_7} → {@code ThreadPoolExecutor-*_*}) or
     * a thread-per-request server ({@code Thread-12 (process_request_thread)}) merge, while differently
     * named threads ({@code MainThread}, {@code writer}) keep their own root. The default.
     */
    PATTERN,
    /** One root for every thread of a process, labelled {@code all threads} (py-spy's default). */
    ALL;

    /** The grouping named {@code each}, {@code name}, {@code pattern} or {@code all} (any case). */
    public static ThreadGrouping parse(String name) {
        java.util.Objects.requireNonNull(name, "name");
        for (ThreadGrouping g : values()) {
            if (g.name().equalsIgnoreCase(name.strip())) {
                return g;
            }
        }
        throw new IllegalArgumentException("thread grouping must be each, name, pattern or all, not '" + name + "'");
    }
}
