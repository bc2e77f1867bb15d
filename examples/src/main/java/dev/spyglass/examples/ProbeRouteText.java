package dev.spyglass.examples;

import java.util.Locale;

import dev.spyglass.FunctionProbes;

/** What {@code latency} and {@code trace} say about the route their probes took (docs/drilldown.md). */
final class ProbeRouteText {
    static final String OPTION_HELP = "Probe each thread with its own events (opened when the thread is listed,"
            + " every 5 ms: threads living less than ~100 ms are mostly missed) instead of CPU-wide events (every"
            + " thread from its start, but every other process running the probed code traps too).";

    private ProbeRouteText() {
    }

    /** The route, for the line said when the probes are in place. */
    static String of(FunctionProbes p) {
        if (p.route() == FunctionProbes.Route.PER_CPU) {
            return "route: CPU-wide probes, every thread from its start (other processes running this code trap too,"
                    + " their hits are dropped)";
        }
        return "route: per-thread probes, threads probed once listed (every 5 ms; a thread living less than ~100 ms"
                + " is mostly missed)" + (p.routeNote().isEmpty() ? "" : "; " + p.routeNote());
    }

    /** The hits of other processes, said at the end on the per-CPU route; "" when there were none. */
    static String otherHits(FunctionProbes p) {
        long n = p.otherProcessHits();
        return n == 0 ? "" : String.format(Locale.ROOT, "spyglass: %,d hits of the probes in other processes (each"
                + " trapped that process; dropped)", n);
    }
}
