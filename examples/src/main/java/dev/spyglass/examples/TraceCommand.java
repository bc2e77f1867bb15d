package dev.spyglass.examples;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import dev.spyglass.FunctionProbes;
import dev.spyglass.ProbedFunction;
import dev.spyglass.ProcessGoneException;
import dev.spyglass.SymbolNotFoundException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code spyglass trace}: the call tree of N executions of a trigger function, from entry and return uprobes. */
@Command(name = "trace", mixinStandardHelpOptions = true,
        description = {"Probes the entry and return of a trigger C function and of the functions given (--functions:"
                + " names, or globs matched in --library), on every thread of a running process; while a thread is"
                + " inside the trigger, each probed call is recorded with its times. After --count executions of the"
                + " trigger, writes each as an indented call tree with total and self µs per call (-o tree.json for"
                + " JSON, tree.html for a timeline page with one lane per depth, else text). On Ctrl-C the"
                + " executions complete by then are written.",
                "Needs root (or CAP_PERFMON). Each probed call costs the target " + LatencyCommand.COST
                        + ". The probes are CPU-wide by default: every other process running that code pays the same"
                        + " per call while they are in place (--per-thread avoids it). See docs/drilldown.md."})
final class TraceCommand implements Callable<Integer> {
    static final int MAX_FUNCTIONS = 100;

    @Option(names = {"-p", "--pid"}, paramLabel = "PID", required = true, description = "The process to probe.")
    long pid;

    @Option(names = "--trigger", paramLabel = "SYMBOL", required = true,
            description = "The function whose executions are traced (searched in the executable, then every object),"
                    + " or the hex address of its first instruction (0x...) for a stripped binary.")
    String trigger;
    /** The trigger as the messages name it: its symbol once the probes are placed. */
    private String triggerShown;

    @Option(names = "--functions", paramLabel = "LIST", split = ",", description = "Functions probed inside the"
            + " trigger, comma-separated: a name (searched like --trigger), an address (0x...), a glob with * or ?"
            + " (matched in --library, default the trigger's object), or a library (a name with .so, or a path):"
            + " every function it defines; at most " + MAX_FUNCTIONS + " functions (more is a usage error, exit 2)."
            + " Each one never entered during the run is named at the end (not called, or inlined).")
    List<String> functions = new ArrayList<>();

    @Option(names = "--library", paramLabel = "NAME", description = "The object the globs are matched in.")
    String library;

    @Option(names = "--count", paramLabel = "N", defaultValue = "1", description = "Executions to trace (default 1).")
    int count;

    @Option(names = {"-d", "--duration"}, paramLabel = "DURATION", defaultValue = "60s",
            description = "The longest wait for those executions (default 60s).")
    String duration;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "Write the trees here: .json, .html (timeline), else text.")
    Path output;

    @Option(names = "--python-calls", description = "Also show each call of a Python function from C (a callback"
            + " the traced code makes): its name, file and first line (CPython 3.8+; on 3.8 - 3.10 every Python call"
            + " traps, so the target slows down more).")
    boolean pythonCalls;

    @Option(names = "--max-rate", paramLabel = "N", defaultValue = "50000", description = "Calls per second of one"
            + " function beyond which its probes are closed (default 50000), measured every 250 ms: a function other"
            + " than the trigger is dropped alone, said on stderr and in the output, and the trace goes on; when the"
            + " trigger fires that often, probing stops (exit 13).")
    long maxRate;

    @Option(names = "--per-thread", description = ProbeRouteText.OPTION_HELP)
    boolean perThread;

    private final PrintStream out;
    private final PrintStream err;
    /** Set by the shutdown hook (Ctrl-C, SIGTERM): ends the wait; what is complete is still written. */
    private volatile boolean stop;

    TraceCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    @Override
    public Integer call() {
        triggerShown = trigger;
        if (pid <= 0) {
            err.println("spyglass trace: -p must be a process id (> 0), not " + pid);
            return Failures.USAGE;
        }
        Duration d;
        try {
            d = Durations.parse("--duration", duration, "s");
            if (count <= 0 || maxRate <= 0) {
                throw new IllegalArgumentException("--count and --max-rate must be positive");
            }
            function(trigger.trim());
            for (String f : functions) {
                function(f.trim());
            }
        } catch (IllegalArgumentException e) {
            err.println("spyglass: " + e.getMessage());
            return Failures.USAGE;
        }
        // Ctrl-C: end the wait and write the executions complete, then let the JVM go
        return WriteOnSignal.run(() -> stop = true, written -> run(d));
    }

    private int run(Duration d) {
        TraceTree tree = new TraceTree();
        int status = 0;
        int exitedInside = 0;
        int stillInside = 0;
        boolean triggerFound = false;
        try {
            List<ProbedFunction> probed = new ArrayList<>(List.of(function(trigger.trim())));
            String triggerObject = FunctionProbes.objectOf(pid, probed.get(0));
            triggerFound = true; // a function not found from here on is one of --functions
            String globLibrary = library != null ? library : triggerObject;
            // By name: a function listed twice (a name and a glob) is probed once.
            Map<String, ProbedFunction> byName = new LinkedHashMap<>();
            for (String f : functions) {
                String name = f.trim();
                if (name.contains("*") || name.contains("?")) {
                    // No limit here: too many is one usage error below, however the functions were matched.
                    for (ProbedFunction m : FunctionProbes.matching(pid, name, globLibrary, Integer.MAX_VALUE)) {
                        byName.putIfAbsent(m.symbol(), m);
                    }
                } else if (name.contains(".so") || name.contains("/")) {
                    // A library: every function it defines (no function name holds ".so" or "/").
                    for (ProbedFunction m : FunctionProbes.matching(pid, "*", name, Integer.MAX_VALUE)) {
                        // GCC's "f.localalias" is a second name at f's address: probed twice, each call showed twice.
                        if (!m.symbol().endsWith(".localalias")) {
                            byName.putIfAbsent(m.symbol(), m);
                        }
                    }
                } else if (!name.isEmpty()) {
                    byName.putIfAbsent(name, function(name));
                }
            }
            byName.remove(trigger.trim());
            Collection<ProbedFunction> rest = byName.values();
            if (rest.size() > MAX_FUNCTIONS) {
                err.println("spyglass: --functions " + String.join(",", functions) + " gives " + rest.size()
                        + " functions to probe, more than " + MAX_FUNCTIONS + " (each is two probes per thread): narrow"
                        + " the globs, or name the functions");
                return Failures.USAGE;
            }
            probed.addAll(rest);
            try (FunctionProbes p = FunctionProbes.attach(pid, probed, pythonCalls, perThread
                    ? FunctionProbes.Route.PER_THREAD : FunctionProbes.Route.PER_CPU)) {
                String name = p.symbols().get(0);
                triggerShown = name; // a trigger given as 0x… is named by the symbol found there
                err.println("spyglass: probes on " + name + " and " + rest.size() + " functions of process " + pid
                        + (pythonCalls ? " and on the calls of Python functions" : "") + "; waiting for " + count
                        + " execution(s) of " + name);
                err.println("spyglass: " + ProbeRouteText.of(p));
                long start = System.nanoTime();
                long end = start + d.toNanos();
                long windowStart = start;
                long[] windowHits = new long[p.symbols().size() + 1];
                try {
                    while (!stop && tree.executions().size() < count && System.nanoTime() < end) {
                        Thread.sleep(10);
                        p.poll(tree::accept);
                        long now = System.nanoTime();
                        if (now - windowStart >= 250_000_000L) {
                            double seconds = (now - windowStart) / 1e9;
                            windowStart = now;
                            if (!guard(p, tree, windowHits, seconds, start)) {
                                status = Failures.RATE_LIMITED;
                                break;
                            }
                            exitedInside += sayExited(tree.dropExited(pid), name);
                        }
                    }
                } catch (ProcessGoneException e) {
                    err.println("spyglass: process " + pid + " ended before the trace did; the output holds the"
                            + " executions complete until then");
                    status = Failures.TARGET_ENDED;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                if (status != Failures.TARGET_ENDED) {
                    exitedInside += sayExited(tree.dropExited(pid), name);
                }
                stillInside = tree.openExecutions();
                sayNeverEntered(p, probed.size());
                if (!ProbeRouteText.otherHits(p).isEmpty()) {
                    err.println(ProbeRouteText.otherHits(p));
                }
                if (tree.abandoned() > 0) {
                    err.println("spyglass: " + tree.abandoned() + " calls of dropped functions were under way when"
                            + " their probes were closed: left out of the trees (their returns cannot be seen)");
                }
                if (p.lostRecords() > 0 || tree.cutShort() > 0) {
                    err.println("spyglass: " + p.lostRecords() + " probe records lost, " + tree.cutShort()
                            + " calls whose return was not seen (closed at their caller's return)");
                }
            }
        } catch (SymbolNotFoundException e) {
            return Failures.symbolNotFound(e, triggerFound ? "give that address in --functions (0xADDR)"
                    : "give that address: --trigger 0xADDR", err);
        } catch (Exception e) {
            return Failures.report(e, err);
        }
        List<TraceTree.Execution> done = tree.executions().subList(0, Math.min(count, tree.executions().size()));
        if (done.isEmpty() && status == 0) {
            err.println("spyglass: no execution of " + triggerShown + " completed "
                    + (stop ? "before the run was interrupted" : "within " + duration) + (exitedInside > 0
                    ? " (" + exitedInside + " ended with their thread exiting inside it)"
                    : stillInside > 0 ? " (" + stillInside + " still running when the run ended)"
                    : " (if it is called, it may be inlined: probes on inlined code cannot fire)"));
            status = Failures.NO_SAMPLES;
        }
        String ext = output == null ? "" : output.toString().toLowerCase(Locale.ROOT);
        String text = ext.endsWith(".json") ? TraceTree.json(trigger, done, tree.drops())
                : ext.endsWith(".html") ? TraceTree.html(trigger, done, tree.drops()) : TraceTree.text(done, tree.drops());
        if (output == null) {
            out.print(text);
        } else {
            try {
                Files.writeString(output, text, StandardCharsets.UTF_8);
                if (stop) {
                    err.println("spyglass: interrupted: wrote the " + done.size() + " execution(s) complete to "
                            + output);
                }
            } catch (IOException e) {
                err.println("spyglass: cannot write " + output + ": " + e.getMessage());
                return Failures.OTHER;
            }
        }
        return status;
    }

    /**
     * The rate guard, once a window of {@code seconds}: a function other than the trigger that fired more than
     * --max-rate times a second in it has its probes closed alone (said on stderr and in the output), the trace
     * goes on; false when the trigger itself did (probing stops). Lost records are hits too (an entry and a return
     * each, hence half) of no known function: counted with the busiest one's.
     */
    private boolean guard(FunctionProbes p, TraceTree tree, long[] windowHits, double seconds, long start) {
        int last = windowHits.length - 1;
        long lost = p.lostRecords() / 2 - windowHits[last];
        windowHits[last] = p.lostRecords() / 2;
        long[] h = new long[last];
        long all = lost;
        int busiest = 0;
        for (int i = 0; i < last; i++) {
            h[i] = p.hits(i) - windowHits[i];
            windowHits[i] = p.hits(i);
            all += h[i];
            if (h[i] > h[busiest]) {
                busiest = i;
            }
        }
        h[busiest] += lost;
        if (h[0] / seconds > maxRate) {
            err.printf(Locale.ROOT, "spyglass: the probed functions fired %,.0f times a second, above --max-rate %d,"
                    + " %s the most (%,.0f a second), the trigger %s itself %,.0f a second: probing stopped%n",
                    all / seconds, maxRate, p.symbols().get(busiest), h[busiest] / seconds, triggerShown,
                    h[0] / seconds);
            return false;
        }
        for (int i = 1; i < last; i++) {
            if (h[i] / seconds > maxRate && !p.dropped(i)) {
                long at = p.drop(i);
                TraceTree.Drop d = new TraceTree.Drop(p.symbols().get(i), at, at - start, h[i] / seconds, maxRate);
                tree.dropped(d);
                err.println("spyglass: " + d.text());
            }
        }
        return true;
    }

    /**
     * Names the functions of --functions (indexes 1 to {@code listed - 1}; not the trigger, whose silence the end
     * says, nor --python-calls' probe) never entered during the run: a function the compiler inlined where it is
     * called keeps its out-of-line copy, and its symbol, but that copy never runs.
     */
    private void sayNeverEntered(FunctionProbes p, int listed) {
        List<String> never = new ArrayList<>();
        for (int i = 1; i < listed; i++) {
            if (p.hits(i) == 0) {
                never.add(p.symbols().get(i));
            }
        }
        if (!never.isEmpty()) {
            int shown = Math.min(never.size(), 10);
            err.println("spyglass: " + String.join(", ", never.subList(0, shown))
                    + (never.size() > shown ? " and " + (never.size() - shown) + " more" : "")
                    + " never entered during the run: not called, or inlined where "
                    + (never.size() == 1 ? "it is" : "they are") + " called (probes on inlined code cannot fire)");
        }
    }

    /** Says which threads exited inside the trigger (their execution can never complete); returns how many. */
    private int sayExited(List<Integer> tids, String trigger) {
        for (int tid : tids) {
            err.println("spyglass: thread " + tid + " exited inside " + trigger + " (it never returned): that"
                    + " execution is incomplete and not shown");
        }
        return tids.size();
    }

    /** A name, or the hex address (0x...) of a function's first instruction in the target. */
    static ProbedFunction function(String spec) {
        if (spec.startsWith("0x") || spec.startsWith("0X")) {
            try {
                return ProbedFunction.at(Long.parseUnsignedLong(spec.substring(2), 16));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("not a hex address: " + spec);
            }
        }
        return ProbedFunction.named(spec);
    }
}
