package dev.spyglass.examples;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import dev.spyglass.CallEvent;

/**
 * Builds the call trees of {@code spyglass trace} from the events of {@link dev.spyglass.FunctionProbes}: on each
 * thread, from an entry of the trigger (function 0) to its return, every probed call inside with its times. Outside
 * the trigger, events are ignored. Used from one thread.
 */
final class TraceTree {
    /** One call: its function, entry and return times (ns, CLOCK_MONOTONIC), the probed calls it made, in order. */
    static final class Call {
        final String symbol;
        final int function;
        final long start;
        long end = -1;
        final List<Call> children = new ArrayList<>();

        Call(String symbol, int function, long start) {
            this.symbol = symbol;
            this.function = function;
            this.start = start;
        }

        long total() {
            return end - start;
        }

        /** Its time minus its probed children's. */
        long self() {
            long s = total();
            for (Call c : children) {
                s -= c.total();
            }
            return s;
        }
    }

    /** A finished execution of the trigger on thread {@code tid}. */
    record Execution(int tid, Call root) {
    }

    private final Map<Integer, List<Call>> open = new HashMap<>();
    private final List<Execution> done = new ArrayList<>();
    private long cutShort;

    void accept(CallEvent e) {
        List<Call> stack = open.get(e.tid());
        if (e.kind() == CallEvent.Kind.ENTRY) {
            if (stack == null) {
                if (e.function() != 0) {
                    return; // outside the trigger
                }
                stack = new ArrayList<>();
                open.put(e.tid(), stack);
            } else if (stack.size() >= 4096) {
                return; // runaway recursion: the tree stops growing
            }
            Call c = new Call(e.symbol(), e.function(), e.timeNanos());
            if (!stack.isEmpty()) {
                stack.get(stack.size() - 1).children.add(c);
            }
            stack.add(c);
            return;
        }
        if (stack == null) {
            return;
        }
        int at = stack.size() - 1;
        while (at >= 0 && stack.get(at).function != e.function()) {
            at--;
        }
        if (at < 0) {
            return; // a return whose entry came before the trigger's
        }
        for (int i = stack.size() - 1; i > at; i--) { // returns not seen (dropped records): closed with this one
            stack.get(i).end = e.timeNanos();
            cutShort++;
        }
        Call c = stack.get(at);
        c.end = e.timeNanos();
        while (stack.size() > at) {
            stack.removeLast();
        }
        if (stack.isEmpty()) {
            open.remove(e.tid());
            done.add(new Execution(e.tid(), c));
        }
    }

    List<Execution> executions() {
        return done;
    }

    /** Calls whose return was not seen, closed at their caller's return. */
    long cutShort() {
        return cutShort;
    }

    static String us(long nanos) {
        return String.format(Locale.ROOT, "%.1f", nanos / 1000.0);
    }

    static String text(List<Execution> executions) {
        StringBuilder sb = new StringBuilder();
        int n = 0;
        for (Execution x : executions) {
            sb.append(String.format(Locale.ROOT, "execution %d of %d, thread %d:%n", ++n, executions.size(), x.tid()));
            text(sb, x.root(), x.root().start, 1);
        }
        return sb.toString();
    }

    private static void text(StringBuilder sb, Call c, long origin, int depth) {
        sb.append("  ".repeat(depth)).append(c.symbol).append("  total ").append(us(c.total())).append(" µs  self ")
                .append(us(c.self())).append(" µs  at +").append(us(c.start - origin)).append(" µs\n");
        for (Call child : c.children) {
            text(sb, child, origin, depth + 1);
        }
    }

    static String json(String trigger, List<Execution> executions) {
        StringBuilder sb = new StringBuilder("{\"trigger\":");
        Json.string(sb, trigger);
        sb.append(",\"executions\":[");
        int n = 0;
        for (Execution x : executions) {
            sb.append(n++ == 0 ? "" : ",").append("{\"tid\":").append(x.tid()).append(",\"call\":");
            json(sb, x.root(), x.root().start);
            sb.append('}');
        }
        return sb.append("]}\n").toString();
    }

    private static void json(StringBuilder sb, Call c, long origin) {
        sb.append("{\"function\":");
        Json.string(sb, c.symbol);
        sb.append(",\"start_us\":").append(us(c.start - origin)).append(",\"total_us\":").append(us(c.total()))
                .append(",\"self_us\":").append(us(c.self())).append(",\"calls\":[");
        int n = 0;
        for (Call child : c.children) {
            sb.append(n++ == 0 ? "" : ",");
            json(sb, child, origin);
        }
        sb.append("]}");
    }
}
