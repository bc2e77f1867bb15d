package dev.spyglass;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import dev.spyglass.internal.kernel.PerCpuUprobes;
import dev.spyglass.internal.kernel.UprobeSet;
import dev.spyglass.internal.kernel.Uprobes;
import dev.spyglass.internal.probes.FunctionResolver;
import dev.spyglass.internal.python.PythonFunctions;
import dev.spyglass.internal.python.Target;

/**
 * Entry and return probes (uprobes and uretprobes) on C functions of a running process, on every one of its
 * threads, delivering each call's entry and exit as a {@link CallEvent}: what {@code spyglass latency} and
 * {@code spyglass trace} are built on, for a JVM tool that wants its own view. The target need not be a CPython.
 *
 * <p>Each probe hit traps into the kernel: the target pays a few microseconds per probed call (see
 * docs/performance.md), so watch {@link #hits} and {@link #drop} a function that fires too often. The
 * probes are perf events of this JVM: they go when {@link #close()} runs, when {@link #attach} fails, and when this
 * JVM dies (the kernel removes a PMU uprobe with its last descriptor); nothing is left in the target. Needs root or
 * {@code CAP_PERFMON} ({@code CAP_SYS_ADMIN} before Linux 5.8): the uprobe PMU asks for it whatever
 * {@code kernel.perf_event_paranoid} says.
 *
 * <p>Threads, two routes ({@link Route}): by default CPU-wide events ({@link Route#PER_CPU}) probe every thread of
 * the target from its start, at the price of trapping every other process that runs the probed code too (their
 * records are dropped, counted by {@link #otherProcessHits}); where the kernel refuses them, or with
 * {@link Route#PER_THREAD}, one event per thread: {@link #poll} lists the target's threads (at most every
 * {@value #RELIST_MILLIS} ms) and probes new ones, so a thread started and ended between two lists is not seen.
 * An inlined copy of a function has no entry to probe: calls through it are not seen. Use from one thread.
 *
 * <pre>{@code
 * try (FunctionProbes p = FunctionProbes.attach(pid, List.of(ProbedFunction.named("deflate", "libz")))) {
 *     while (running) {
 *         p.poll(e -> { if (e.kind() == CallEvent.Kind.EXIT && e.durationNanos() >= 0) histogram.record(e.durationNanos()); });
 *         Thread.sleep(10);
 *     }
 * }
 * }</pre>
 */
public final class FunctionProbes implements AutoCloseable {
    /** How the probes reach the target's threads. */
    public enum Route {
        /**
         * One event per probe and CPU: every thread, from its first instruction. Every process running the probed
         * code of that file traps too (its hits are dropped, not delivered).
         */
        PER_CPU,
        /**
         * One event per probe and thread, opened when {@link #poll} lists a new thread (10 - 80 ms on Linux 6.18
         * for a function's two events): threads living less than that are mostly missed; no other process traps.
         */
        PER_THREAD
    }

    /**
     * How often {@link #poll} lists the target's threads at most: at every poll of a caller polling every 10 ms
     * (one read of the directory {@code /proc/PID/task}). On the per-thread route a thread gets its probes then, so
     * that a thread living 20 ms is probed for part of its life (listed every 100 ms, 1 to 5 of 40 such threads
     * were; FunctionProbesTest); on the per-CPU route the list only finds that the target exited.
     */
    public static final int RELIST_MILLIS = 5;
    /** Per-thread ring (and the least per-CPU one): 512 KiB, about 5,000 records (96 bytes each) between two polls. */
    static final int DATA_PAGES = 128;
    /** Open calls kept per thread; deeper recursion is delivered with its depth but not matched to its exit. */
    static final int MAX_DEPTH = 1024;
    /**
     * The function probed for {@code pythonCalls}: the vectorcall of every Python function object (CPython 3.8+),
     * entered with the function object in {@code rdi}.
     */
    static final String PYTHON_CALL = "_PyFunction_Vectorcall";
    private static final String NEED = "Probing a C function";

    private final long pid;
    private final List<FunctionResolver.Resolved> functions;
    private final Uprobes set;
    private final String routeNote;
    private final Target target;
    private final PythonFunctions pythonFunctions;
    private final int pythonIndex;
    private final CallMatcher calls;
    private int[] tids = new int[64];
    private int listedCount;
    private long listed = Long.MIN_VALUE;


    private FunctionProbes(long pid, List<FunctionResolver.Resolved> functions, Uprobes set, String routeNote,
            Target target, int pythonIndex) {
        this.pid = pid;
        this.functions = functions;
        this.set = set;
        this.routeNote = routeNote;
        this.target = target;
        this.pythonFunctions = target == null ? null : new PythonFunctions(target);
        this.pythonIndex = pythonIndex;
        this.calls = new CallMatcher(functions.size(), pythonIndex, new CallMatcher.Names() {
            @Override
            public String symbol(int f, Frame py) {
                return FunctionProbes.this.symbol(f, py);
            }

            @Override
            public Frame pythonFunction(long address) {
                return FunctionProbes.this.pythonFunction(address);
            }
        });
    }

    /**
     * Places an entry and a return probe on each function, on every thread of {@code pid}.
     *
     * @throws SymbolNotFoundException a function is not there (the message lists the closest names, or names
     *                                 the stripped objects it may be in without a name:
     *                                 {@link SymbolNotFoundException#stripped()}, an address would do)
     * @throws AccessDeniedException   the kernel refuses uprobes (the message names root / CAP_PERFMON /
     *                                 CAP_SYS_ADMIN)
     * @throws ProcessGoneException    no such process
     * @throws SpyglassException       no uprobe support in this kernel
     */
    public static FunctionProbes attach(long pid, List<ProbedFunction> functions) throws SpyglassException {
        return attach(pid, functions, false);
    }

    /**
     * As {@link #attach(long, List)}; with {@code pythonCalls}, also every call of a Python function object from
     * C (CPython 3.8+): its events carry the Python function run ({@link CallEvent#python()}), with function index
     * {@code functions.size()}. The probe is on {@value #PYTHON_CALL}, which gets the function object in its first
     * argument; on CPython 3.11+ only calls from C code come through it (the eval loop runs Python-to-Python calls
     * inline), on 3.8 - 3.10 every Python call does, so probing costs a trap per Python call there.
     *
     * @throws NotAPythonProcessException with {@code pythonCalls}, the target runs no CPython
     * @throws SymbolNotFoundException    with {@code pythonCalls}, the interpreter's object has no
     *                                    {@value #PYTHON_CALL} (before 3.8, or stripped of {@code .symtab} where it
     *                                    is not exported: 3.13+)
     */
    public static FunctionProbes attach(long pid, List<ProbedFunction> functions, boolean pythonCalls)
            throws SpyglassException {
        return attach(pid, functions, pythonCalls, Route.PER_CPU);
    }

    /**
     * As {@link #attach(long, List, boolean)}, by {@code route}: {@link Route#PER_CPU} falls back to
     * {@link Route#PER_THREAD} when the kernel refuses CPU-wide events (see {@link #route()} and
     * {@link #routeNote()}).
     */
    public static FunctionProbes attach(long pid, List<ProbedFunction> functions, boolean pythonCalls, Route route)
            throws SpyglassException {
        java.util.Objects.requireNonNull(route, "route");
        if (functions.isEmpty()) {
            throw new IllegalArgumentException("no function to probe");
        }
        FunctionResolver resolver = new FunctionResolver(pid);
        List<FunctionResolver.Resolved> resolved = new ArrayList<>();
        for (ProbedFunction f : functions) {
            resolved.add(resolver.resolve(f));
        }
        Target target = null;
        if (pythonCalls) {
            target = Target.attach(pid);
            String object = Path.of(target.interpreter().objectPath()).getFileName().toString();
            try {
                resolved.add(resolver.resolve(ProbedFunction.named(PYTHON_CALL, object)));
            } catch (SymbolNotFoundException e) {
                target.close();
                // 3.13 and 3.14 do not export it: a stripped build has no name for it. Not stripped() to the
                // caller: no address of it can be given (the advice a stripped() failure gets).
                String why = e.stripped() ? object + " does not export " + PYTHON_CALL + " and is stripped of its"
                        + " symbol table (.symtab): a build with its symbols is needed" : e.getMessage();
                throw new SymbolNotFoundException("Python calls cannot be shown in CPython " + target.version()
                        + ": " + why, e.closestMatches(), false);
            } catch (SpyglassException | RuntimeException | Error e) {
                target.close();
                throw e;
            }
        }
        List<UprobeSet.Probe> probes = new ArrayList<>();
        for (FunctionResolver.Resolved r : resolved) {
            probes.add(new UprobeSet.Probe(r.uprobePath(), r.fileOffset(), false, 0));
            probes.add(new UprobeSet.Probe(r.uprobePath(), r.fileOffset(), true, 0));
        }
        Uprobes set = null;
        String note = "";
        try {
            if (route == Route.PER_CPU) {
                try {
                    set = new PerCpuUprobes(pid, probes, DATA_PAGES, NEED);
                } catch (SpyglassException e) {
                    note = "CPU-wide probes refused (" + e.getMessage() + "): threads are probed once listed";
                }
            }
            if (set == null) {
                UprobeSet perThread = new UprobeSet(pid, probes, DATA_PAGES, NEED,
                        "the sampling commands (record, top) need no uprobes");
                try {
                    // A refusal (no right to place uprobes at all) is said here, naming the right missing.
                    perThread.check((int) pid);
                } catch (SpyglassException | RuntimeException | Error e) {
                    perThread.close();
                    throw e;
                }
                set = perThread;
            }
        } catch (SpyglassException | RuntimeException | Error e) {
            if (target != null) {
                target.close();
            }
            throw e;
        }
        FunctionProbes p = new FunctionProbes(pid, List.copyOf(resolved), set, note, target,
                pythonCalls ? functions.size() : -1);
        try {
            p.relist();
            return p;
        } catch (SpyglassException | RuntimeException | Error e) {
            p.close();
            throw e;
        }
    }

    /**
     * The functions of the object {@code library} (a path, a file name or its start) of process {@code pid} whose
     * names match {@code glob} ({@code *}, {@code ?}), sorted: what to give {@link #attach}.
     *
     * @throws SymbolNotFoundException no such object, no match, or more than {@code limit} matches
     */
    public static List<ProbedFunction> matching(long pid, String glob, String library, int limit)
            throws SpyglassException {
        return new FunctionResolver(pid).matching(glob, library, limit).stream()
                .map(n -> ProbedFunction.named(n, library)).toList();
    }

    /**
     * The object of process {@code pid} that holds {@code function} (as the target maps it), without probing it.
     *
     * @throws SymbolNotFoundException it is not there
     */
    public static String objectOf(long pid, ProbedFunction function) throws SpyglassException {
        return new FunctionResolver(pid).resolve(function).object();
    }

    /** The probed functions' names, in the order given ({@code object+0xOFFSET} for an address in no symbol). */
    public List<String> symbols() {
        return functions.stream().map(FunctionResolver.Resolved::symbol).toList();
    }

    /** Where function {@code i} was found: the object as the target maps it. */
    public String object(int i) {
        return functions.get(i).object();
    }

    /**
     * Delivers every entry and exit recorded since the last poll, thread after thread (each thread's in the
     * order they happened; sort by {@link CallEvent#timeNanos()} for one timeline), and probes threads started
     * since the last list.
     *
     * @throws ProcessGoneException the target exited (the events before are delivered first)
     */
    public void poll(Consumer<CallEvent> consumer) throws SpyglassException {
        long polled = System.nanoTime();
        set.drain((probe, tid, time, ax, dx, si, di, bp, sp, ip, stack) -> calls.record(probe, tid, time, di, polled,
                consumer));
        calls.drained(polled, consumer);
        if (System.nanoTime() - listed >= RELIST_MILLIS * 1_000_000L) {
            relist();
        }
    }

    /**
     * Drops function {@code i}: closes its entry and return probes alone, on every thread, and delivers none of its
     * records stamped from now on; the others stay. A call of it still open then never gets its exit: a later
     * {@link #poll} delivers it as {@link CallEvent.Kind#ABANDONED}. {@link #hits} of it stop growing. What to do
     * with a function that fires too often. The close runs in the background: the kernel may keep the breakpoint
     * (the target keeps trapping) until calls under the probes' return probes have returned (on Linux 6.18, until
     * an enclosing probed call such as trace's trigger returned).
     *
     * @return when it was dropped ({@link System#nanoTime()}, CLOCK_MONOTONIC); the first time, if it was already
     * @throws IllegalArgumentException {@code i} is 0 (the first function's entry event owns the rings the other
     *                                  probes write into: {@link #close()} instead) or no function's index
     */
    public long drop(int i) {
        if (i <= 0 || i >= functions.size()) {
            throw new IllegalArgumentException("function " + i + " of " + functions.size()
                    + " cannot be dropped alone (the first one's probes carry the others' records: close instead)");
        }
        if (!calls.dropped(i)) {
            calls.drop(i);
            set.closeProbe(2 * i); // the entry first: a call seen entering keeps its return probe a little longer
            set.closeProbe(2 * i + 1);
        }
        return calls.drop(i);
    }

    /** Whether function {@code i} was {@link #drop dropped}. */
    public boolean dropped(int i) {
        return calls.dropped(i);
    }

    /**
     * The Python function object {@code function} names, read now (the records are read after the call began: a
     * function object freed since, such as a lambda made for the call, is no longer there to read).
     */
    private Frame pythonFunction(long function) {
        try {
            Frame f = pythonFunctions.frameOf(function);
            return f != null ? f : GONE;
        } catch (SpyglassException e) {
            return GONE;
        }
    }

    /** What a Python call whose function object could not be read is shown as. */
    static final Frame GONE = Frame.python("(Python function freed before it was read)", "(Python function freed"
            + " before it was read)", "", 0);

    private String symbol(int f, Frame py) {
        if (f == pythonIndex) {
            return py == null ? "(a Python function)"
                    : py == GONE ? py.function() : py.qualifiedName() + " (" + py.file() + ":" + py.line() + ")";
        }
        return functions.get(f).symbol();
    }

    private void relist() throws SpyglassException {
        Path task = Path.of("/proc", Long.toString(pid), "task");
        int n = 0;
        try (DirectoryStream<Path> dir = Files.newDirectoryStream(task)) {
            for (Path p : dir) {
                if (n == tids.length) {
                    tids = java.util.Arrays.copyOf(tids, n * 2);
                }
                tids[n++] = Integer.parseInt(p.getFileName().toString());
            }
        } catch (NoSuchFileException e) {
            throw new ProcessGoneException(pid, "process " + pid + " exited");
        } catch (IOException | NumberFormatException e) {
            throw new SpyglassException("cannot list the threads of process " + pid + ": " + e, e);
        }
        if (n == 0) {
            throw new ProcessGoneException(pid, "process " + pid + " exited");
        }
        set.track(tids, n);
        listedCount = n;
        calls.keepThreads(tids, n);
        listed = System.nanoTime();
    }

    /** How many times function {@code i} was entered since the probes were placed (entries seen, not lost ones). */
    public long hits(int i) {
        return calls.hits(i);
    }

    /** Records the kernel dropped because a thread's ring was full (entries and exits). */
    public long lostRecords() {
        return set.lostRecords();
    }

    /** Exits whose entry was not seen, and entries whose exit was not seen before an outer call returned. */
    public long unmatched() {
        return calls.unmatched();
    }

    /** How many threads carry probes: on the per-CPU route, every thread of the latest list. */
    public int threads() {
        return set instanceof UprobeSet s ? s.trackedThreads() : listedCount;
    }

    /** The route the probes took (the per-CPU one falls back to the per-thread one where it is refused). */
    public Route route() {
        return set.perCpu() ? Route.PER_CPU : Route.PER_THREAD;
    }

    /** Why the per-CPU route was not taken when it was asked for, or "". */
    public String routeNote() {
        return routeNote;
    }

    /**
     * Hits of the probes in other processes running the same code (per-CPU route only; 0 on the per-thread one):
     * each trapped that process and was dropped here.
     */
    public long otherProcessHits() {
        return set instanceof PerCpuUprobes c ? c.otherProcessHits() : 0;
    }

    /** Removes every probe from the target (closes their perf events). */
    @Override
    public void close() {
        set.close();
        if (target != null) {
            target.close();
        }
    }
}
