package dev.spyglass.examples;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import dev.spyglass.CallEvent;
import dev.spyglass.FunctionProbes;
import dev.spyglass.LatencyHistogram;
import dev.spyglass.ProbedFunction;
import dev.spyglass.ProcessGoneException;
import dev.spyglass.PythonProcess;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code spyglass latency}: entry and return uprobes on one C function, a live histogram of its call durations. */
@Command(name = "latency", mixinStandardHelpOptions = true,
        description = {"Probes the entry and return of one C function of a running process (every thread) with"
                + " uprobes and shows the latency of its calls: a histogram (log-scaled buckets), p50/p90/p99/max and"
                + " the count, refreshed every second (like top on a terminal, one plain line per second otherwise),"
                + " then the report (-o lat.json or lat.html; text on stdout without -o).",
                "Needs root (or CAP_PERFMON). The probes are removed when the run ends, or if spyglass is killed.",
                "Cost: each probed call traps into the kernel twice (entry and return): " + LatencyCommand.COST
                        + " (docs/performance.md). Beyond --max-rate calls a second the probes are removed (exit"
                        + " status 13). The probes are CPU-wide by default: every other process running that code"
                        + " pays the same per call while they are in place (--per-thread avoids it). See"
                        + " docs/drilldown.md."})
final class LatencyCommand implements Callable<Integer> {
    /** Measured, see docs/performance.md (latency). */
    static final String COST = "13 - 27 µs of the target's CPU per probed call (two traps: 13 - 17 µs at load"
            + " 8 - 10, 25 - 27 µs at load 14 - 15), measured on a loaded 2-core VM with scripts/latency-cost.sh; an"
            + " empty function called in a loop then runs about 15,000 times a second instead of hundreds of millions";
    /** The short form of {@link #COST}, for the start line and the rate guard's message. */
    static final String PER_CALL = "13 - 27 µs of CPU";

    @Option(names = {"-p", "--pid"}, paramLabel = "PID", required = true, description = "The process to probe.")
    long pid;

    @Option(names = "--function", paramLabel = "SYMBOL", description = "The C function to probe (its symbol).")
    String function;

    @Option(names = "--library", paramLabel = "NAME", description = "The object holding it: a path, a file name or"
            + " its start (libpython3.12, _mysql); default: the executable, then every mapped object.")
    String library;

    @Option(names = "--address", paramLabel = "ADDR", description = "Probe the function starting at this address of"
            + " the target (hex, as gdb shows it) instead of a symbol: for a stripped binary.")
    String address;

    @Option(names = {"-d", "--duration"}, paramLabel = "DURATION", defaultValue = "30s",
            description = "How long the probes stay (default 30s; e.g. 10s, 2m).")
    String duration;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE",
            description = "Write the report here: .json for JSON, .html for a page, else text.")
    Path output;

    @Option(names = "--max-rate", paramLabel = "N", defaultValue = "50000", description = "Calls per second beyond"
            + " which probing stops (default 50000): the target pays each call's traps.")
    long maxRate;

    @Option(names = "--by-stack", description = "Also report the slowest calls with the Python stack that made"
            + " them, and the slow calls (at least the p90) merged by that stack, the most time first (the threads'"
            + " stacks are read every poll, about every 10 ms; a call that spans no read gets no stack). CPython"
            + " targets only.")
    boolean byStack;

    @Option(names = "--per-thread", description = ProbeRouteText.OPTION_HELP)
    boolean perThread;

    private final PrintStream out;
    private final PrintStream err;
    private volatile boolean stop;

    LatencyCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    static boolean stdoutIsTerminal() {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/1")).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    @Override
    public Integer call() {
        if (pid <= 0) {
            err.println("spyglass latency: -p must be a process id (> 0), not " + pid);
            return Failures.USAGE;
        }
        Duration d;
        ProbedFunction f;
        try {
            d = Durations.parse("--duration", duration, "s");
            if ((function == null) == (address == null)) {
                throw new IllegalArgumentException("give --function SYMBOL or --address ADDR (one of them)");
            }
            if (address != null && library != null) {
                throw new IllegalArgumentException("--library goes with --function, not --address");
            }
            if (maxRate <= 0) {
                throw new IllegalArgumentException("--max-rate must be positive");
            }
            f = function != null ? ProbedFunction.named(function, library)
                    : ProbedFunction.at(Long.parseUnsignedLong(address.replaceFirst("^0[xX]", ""), 16));
        } catch (IllegalArgumentException e) {
            err.println("spyglass: " + e.getMessage());
            return Failures.USAGE;
        }
        LatencyHistogram h = new LatencyHistogram();
        // Ctrl-C: end the run and write the report, then let the JVM go
        return WriteOnSignal.run(() -> stop = true, written -> run(f, d, h, written));
    }

    /** Per thread, the calls entered and not yet returned (recursion counts each). */
    private final Map<Integer, Integer> inside = new HashMap<>();
    /** Calls whose thread ended inside the function: no return will come (a raw exit, pthread_exit, a crash). */
    private long endedInside;

    /** Drops the threads with calls open that no longer exist, and returns how many calls they had open. */
    private long endedInside() {
        long calls = 0;
        if (!Files.exists(Path.of("/proc", Long.toString(pid)))) {
            return 0; // the process ended: its calls did not end inside the function
        }
        var it = inside.entrySet().iterator();
        while (it.hasNext()) {
            var open = it.next();
            if (!Files.exists(Path.of("/proc", Long.toString(pid), "task", Integer.toString(open.getKey())))) {
                calls += open.getValue();
                it.remove();
            }
        }
        return calls;
    }

    private int run(ProbedFunction f, Duration d, LatencyHistogram h, CountDownLatch written) {
        String name;
        int status = 0;
        long entries;
        boolean terminal = stdoutIsTerminal();
        long start = System.nanoTime();
        SlowCallStacks slow = null;
        try (PythonProcess py = byStack ? PythonProcess.attach(pid) : null;
                FunctionProbes p = FunctionProbes.attach(pid, List.of(f), false, perThread
                        ? FunctionProbes.Route.PER_THREAD : FunctionProbes.Route.PER_CPU)) {
            slow = py == null ? null : new SlowCallStacks(py);
            SlowCallStacks stacks = slow;
            name = p.symbols().get(0);
            err.println("spyglass: probes on " + name + " in " + p.object(0) + " of process " + pid + " for "
                    + duration + " (each call costs the target " + PER_CALL + "; stops beyond " + maxRate + " calls/s)");
            err.println("spyglass: " + ProbeRouteText.of(p));
            start = System.nanoTime(); // -d counts from when the probes are in place (attaching takes a while under load)
            long end = start + d.toNanos();
            long nextScreen = start + 1_000_000_000L;
            long windowStart = start;
            long windowHits = 0;
            double rate = 0;
            try {
                while (!stop && System.nanoTime() < end) {
                    Thread.sleep(10);
                    // A slow call for --by-stack's merged stacks: at least the p90 of the calls before this poll.
                    long slowNanos = stacks == null ? 0 : h.percentileNanos(0.9);
                    p.poll(e -> {
                        if (e.kind() == CallEvent.Kind.ENTRY) {
                            inside.merge(e.tid(), 1, Integer::sum);
                        } else if (e.kind() == CallEvent.Kind.EXIT) {
                            inside.computeIfPresent(e.tid(), (t, n) -> n > 1 ? n - 1 : null);
                            h.record(e.durationNanos());
                            if (stacks != null) {
                                stacks.accept(e, slowNanos);
                            }
                        }
                    });
                    if (stacks != null) {
                        stacks.read();
                    }
                    long now = System.nanoTime();
                    // Lost records are hits too (entries and returns, hence half).
                    long hits = p.hits(0) + p.lostRecords() / 2;
                    if (now - windowStart >= 250_000_000L) {
                        rate = (hits - windowHits) * 1e9 / (now - windowStart);
                        windowStart = now;
                        windowHits = hits;
                        if (rate > maxRate) {
                            err.printf(Locale.ROOT, "spyglass: %s fired %,.0f times a second, above --max-rate %d:"
                                    + " probing stopped (each call costs the target " + PER_CALL + "); the report holds"
                                    + " the calls seen until then%n", name, rate, maxRate);
                            status = Failures.RATE_LIMITED;
                            break;
                        }
                    }
                    if (now >= nextScreen) {
                        nextScreen += 1_000_000_000L;
                        endedInside += endedInside();
                        double s = (now - start) / 1e9;
                        out.print(terminal ? LatencyReport.screen(name, pid, s, h, rate, p.lostRecords())
                                : LatencyReport.line(name, s, h, rate) + "\n");
                        out.flush();
                    }
                }
            } catch (ProcessGoneException e) {
                err.println("spyglass: process " + pid + " ended before the run did; the report holds what was seen");
                status = Failures.TARGET_ENDED;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            endedInside += endedInside();
            entries = p.hits(0);
            if (!ProbeRouteText.otherHits(p).isEmpty()) {
                err.println(ProbeRouteText.otherHits(p));
            }
            if (p.lostRecords() > 0) {
                err.println("spyglass: " + p.lostRecords() + " probe records lost (the kernel's ring was full)");
            }
        } catch (dev.spyglass.SymbolNotFoundException e) {
            return Failures.symbolNotFound(e, "give that address: --address 0xADDR", err);
        } catch (Exception e) {
            return Failures.report(e, err);
        }
        if (endedInside > 0) {
            err.println("spyglass: " + endedInside + (endedInside == 1 ? " call" : " calls") + " of " + name
                    + " never returned: " + (endedInside == 1 ? "its thread" : "their threads")
                    + " ended inside it (not in the histogram)");
        }
        if (h.count() == 0 && status == 0) {
            err.println("spyglass: no call of " + name + " completed during the run (" + entries + " entries seen): it"
                    + " was not called, or the compiler inlined it where it is called (probes on inlined code cannot"
                    + " fire: probe the function that calls it)");
            status = Failures.NO_SAMPLES;
        }
        String ext = output == null ? "" : output.toString().toLowerCase(Locale.ROOT);
        SlowCallStacks slowest = slow;
        String report = ext.endsWith(".json") ? LatencyReport.json(name, h, slowest) : ext.endsWith(".html")
                ? LatencyReport.html(name, pid, h, slowest) : LatencyReport.line(name,
                        (System.nanoTime() - start) / 1e9, h, h.count() * 1e9 / Math.max(1, System.nanoTime() - start))
                        + "\n" + (slowest == null ? "" : slowest.text());
        if (output == null) {
            out.print(report);
            out.flush();
        } else {
            try {
                Files.writeString(output, report, StandardCharsets.UTF_8);
            } catch (IOException e) {
                err.println("spyglass: cannot write " + output + ": " + e.getMessage());
                return Failures.OTHER;
            }
        }
        written.countDown();
        return status;
    }
}
