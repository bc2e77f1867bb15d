package dev.spyglass.examples;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import dev.spyglass.CallEvent;
import dev.spyglass.Frame;

/**
 * Builds the call trees of {@code spyglass trace} from the events of {@link dev.spyglass.FunctionProbes}: on each
 * thread, from an entry of the trigger (function 0) to its return, every probed call inside with its times. Outside
 * the trigger, events are ignored. Used from one thread.
 */
final class TraceTree {
    /** One call: its function, entry and return times (ns, CLOCK_MONOTONIC), the probed calls it made, in order. */
    static final class Call {
        final String symbol;
        /** The Python function run, for a call of one ({@code --python-calls}); else null. */
        final Frame python;
        final int function;
        final long start;
        long end = -1;
        final List<Call> children = new ArrayList<>();

        Call(String symbol, Frame python, int function, long start) {
            this.symbol = symbol;
            this.python = python;
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

    /**
     * A function whose probes were closed for firing {@code ratePerSecond} times a second, above {@code maxRate}:
     * {@code atNanos} when they were gone (CLOCK_MONOTONIC), {@code sinceStartNanos} after the probes were placed.
     */
    record Drop(String symbol, long atNanos, long sinceStartNanos, double ratePerSecond, long maxRate) {
        String text() {
            return String.format(Locale.ROOT, "%s dropped %.2f s after the probes were placed: it fired %,.0f times"
                    + " a second, above --max-rate %d (its calls after that are not shown)", symbol,
                    sinceStartNanos / 1e9, ratePerSecond, maxRate);
        }
    }

    private final Map<Integer, List<Call>> open = new HashMap<>();
    private final List<Execution> done = new ArrayList<>();
    private final List<Drop> drops = new ArrayList<>();
    private long cutShort;
    private long abandoned;

    void accept(CallEvent e) {
        List<Call> stack = open.get(e.tid());
        if (e.kind() == CallEvent.Kind.ABANDONED) {
            abandon(stack, e.function());
            return;
        }
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
            Call c = new Call(e.symbol(), e.python(), e.function(), e.timeNanos());
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

    /**
     * A call of a function whose probes were closed before its return was seen: taken out of the tree (closed at
     * its caller's return, it would count the time after it as its own).
     */
    private void abandon(List<Call> stack, int function) {
        if (stack == null) {
            return;
        }
        for (int at = stack.size() - 1; at > 0; at--) { // not the trigger (at 0): it is never dropped
            if (stack.get(at).function == function) {
                Call gone = stack.remove(at);
                stack.get(at - 1).children.remove(gone);
                if (at < stack.size()) { // calls it made that are still open now belong to its caller
                    stack.get(at - 1).children.add(stack.get(at));
                }
                abandoned++;
                return;
            }
        }
    }

    List<Execution> executions() {
        return done;
    }

    /** Says that a function's probes were closed, for the outputs. */
    void dropped(Drop d) {
        drops.add(d);
    }

    List<Drop> drops() {
        return drops;
    }

    /** Calls of dropped functions still open when their probes went: not in the trees. */
    long abandoned() {
        return abandoned;
    }

    /**
     * Drops the open executions of threads of {@code pid} that no longer exist (a thread that exited inside the
     * trigger: {@code pthread_exit}, or a raw {@code exit} system call, never returns from it) and gives their
     * thread ids, so that the command can say so rather than wait for a return that cannot come.
     */
    List<Integer> dropExited(long pid) {
        List<Integer> gone = new ArrayList<>();
        open.keySet().removeIf(tid -> {
            if (java.nio.file.Files.exists(java.nio.file.Path.of("/proc", Long.toString(pid), "task",
                    Integer.toString(tid)))) {
                return false;
            }
            gone.add(tid);
            return true;
        });
        return gone;
    }

    /** Executions still open (their thread inside the trigger), e.g. when the run ends. */
    int openExecutions() {
        return open.size();
    }

    /** Calls whose return was not seen, closed at their caller's return. */
    long cutShort() {
        return cutShort;
    }

    static String us(long nanos) {
        return String.format(Locale.ROOT, "%.1f", nanos / 1000.0);
    }

    static String text(List<Execution> executions) {
        return text(executions, List.of());
    }

    /** The trees, each drop said first and again where it fell inside an execution ("-- F dropped here"). */
    static String text(List<Execution> executions, List<Drop> drops) {
        StringBuilder sb = new StringBuilder();
        for (Drop d : drops) {
            sb.append("dropped: ").append(d.text()).append('\n');
        }
        int n = 0;
        for (Execution x : executions) {
            sb.append(String.format(Locale.ROOT, "execution %d of %d, thread %d:%n", ++n, executions.size(), x.tid()));
            List<Drop> inside = new ArrayList<>(within(x, drops));
            text(sb, x.root(), x.root().start, 1, inside);
            for (Drop d : inside) {
                dropLine(sb, d, x.root().start, 2);
            }
        }
        return sb.toString();
    }

    /** The drops that fell during execution {@code x}. */
    static List<Drop> within(Execution x, List<Drop> drops) {
        return drops.stream().filter(d -> d.atNanos() >= x.root().start && d.atNanos() <= x.root().end).toList();
    }

    private static void dropLine(StringBuilder sb, Drop d, long origin, int depth) {
        sb.append("  ".repeat(depth)).append("-- ").append(d.symbol()).append(" dropped here, at +")
                .append(us(d.atNanos() - origin)).append(" µs --\n");
    }

    /** One line per call, and the line of each drop in {@code pending} before the first call that started after it. */
    private static void text(StringBuilder sb, Call c, long origin, int depth, List<Drop> pending) {
        while (!pending.isEmpty() && pending.getFirst().atNanos() < c.start) {
            dropLine(sb, pending.removeFirst(), origin, depth);
        }
        sb.append("  ".repeat(depth)).append(c.symbol).append("  total ").append(us(c.total())).append(" µs  self ")
                .append(us(c.self())).append(" µs  at +").append(us(c.start - origin)).append(" µs\n");
        for (Call child : c.children) {
            text(sb, child, origin, depth + 1, pending);
        }
    }

    /**
     * A self-contained timeline page: per execution, one lane per depth, each call a box as wide as its time, its
     * name, total, self and start in the box's title (shown on hover). No script, no external resource.
     */
    static String html(String trigger, List<Execution> executions) {
        return html(trigger, executions, List.of());
    }

    /** As {@link #html(String, List)}; each drop said above the timelines and marked (a red line) where it fell. */
    static String html(String trigger, List<Execution> executions, List<Drop> drops) {
        StringBuilder sb = new StringBuilder("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>trace of ");
        sb.append(escape(trigger)).append("</title><style>body{font:13px sans-serif;margin:2em}"
                + "div.t{position:relative;width:1000px;border-left:1px solid #888;margin-bottom:2em}"
                + "div.c{position:absolute;height:18px;overflow:hidden;white-space:nowrap;background:#f4b266;"
                + "border:1px solid #b07020;box-sizing:border-box;font-size:11px}"
                + "div.d{position:absolute;top:0;bottom:0;border-left:2px solid #d00}</style></head><body>\n<h1>Trace of ")
                .append(escape(trigger)).append("</h1>\n");
        for (Drop d : drops) {
            sb.append("<p class=\"dropped\">Dropped: ").append(escape(d.text())).append("</p>\n");
        }
        int n = 0;
        for (Execution x : executions) {
            int lanes = depth(x.root());
            sb.append("<h2>execution ").append(++n).append(" of ").append(executions.size()).append(", thread ")
                    .append(x.tid()).append(": ").append(us(x.root().total())).append(" µs</h2>\n<div class=\"t\" style=\"height:")
                    .append(lanes * 20).append("px\">\n");
            html(sb, x.root(), x.root().start, Math.max(1, x.root().total()), 0);
            for (Drop d : within(x, drops)) {
                sb.append(String.format(Locale.ROOT, "<div class=\"d\" style=\"left:%.1fpx\" title=\"%s\"></div>%n",
                        1000.0 * (d.atNanos() - x.root().start) / Math.max(1, x.root().total()), escape(d.symbol()
                                + " dropped here, at +" + us(d.atNanos() - x.root().start) + " µs")));
            }
            sb.append("</div>\n");
        }
        return sb.append("</body></html>\n").toString();
    }

    private static int depth(Call c) {
        int d = 0;
        for (Call child : c.children) {
            d = Math.max(d, depth(child));
        }
        return d + 1;
    }

    private static void html(StringBuilder sb, Call c, long origin, long span, int lane) {
        double left = 1000.0 * (c.start - origin) / span;
        double width = Math.max(1, 1000.0 * c.total() / span);
        String title = c.symbol + ": total " + us(c.total()) + " µs, self " + us(c.self()) + " µs, at +"
                + us(c.start - origin) + " µs";
        sb.append(String.format(Locale.ROOT, "<div class=\"c\" style=\"left:%.1fpx;width:%.1fpx;top:%dpx\" title=\"%s\">%s</div>%n",
                left, width, lane * 20, escape(title), escape(c.symbol)));
        for (Call child : c.children) {
            html(sb, child, origin, span, lane + 1);
        }
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    static String json(String trigger, List<Execution> executions) {
        return json(trigger, executions, List.of());
    }

    /**
     * As {@link #json(String, List)}, with {@code "dropped":[{"function", "after_s", "rate_per_s", "max_rate"}]}
     * and, in an execution a drop fell in, {@code "dropped":[{"function", "at_us"}]}.
     */
    static String json(String trigger, List<Execution> executions, List<Drop> drops) {
        StringBuilder sb = new StringBuilder("{\"trigger\":");
        Json.string(sb, trigger);
        sb.append(",\"dropped\":[");
        for (int i = 0; i < drops.size(); i++) {
            Drop d = drops.get(i);
            sb.append(i == 0 ? "{\"function\":" : ",{\"function\":");
            Json.string(sb, d.symbol());
            sb.append(String.format(Locale.ROOT, ",\"after_s\":%.3f,\"rate_per_s\":%.0f,\"max_rate\":%d}",
                    d.sinceStartNanos() / 1e9, d.ratePerSecond(), d.maxRate()));
        }
        sb.append("],\"executions\":[");
        int n = 0;
        for (Execution x : executions) {
            sb.append(n++ == 0 ? "" : ",").append("{\"tid\":").append(x.tid());
            List<Drop> inside = within(x, drops);
            if (!inside.isEmpty()) {
                sb.append(",\"dropped\":[");
                for (int i = 0; i < inside.size(); i++) {
                    sb.append(i == 0 ? "{\"function\":" : ",{\"function\":");
                    Json.string(sb, inside.get(i).symbol());
                    sb.append(",\"at_us\":").append(us(inside.get(i).atNanos() - x.root().start)).append('}');
                }
                sb.append(']');
            }
            sb.append(",\"call\":");
            json(sb, x.root(), x.root().start);
            sb.append('}');
        }
        return sb.append("]}\n").toString();
    }

    private static void json(StringBuilder sb, Call c, long origin) {
        sb.append("{\"function\":");
        Json.string(sb, c.symbol);
        sb.append(",\"start_us\":").append(us(c.start - origin)).append(",\"total_us\":").append(us(c.total()))
                .append(",\"self_us\":").append(us(c.self()));
        if (c.python != null) {
            sb.append(",\"python\":{\"function\":");
            Json.string(sb, c.python.qualifiedName());
            sb.append(",\"file\":");
            Json.string(sb, c.python.file());
            sb.append(",\"line\":").append(c.python.line()).append('}');
        }
        sb.append(",\"calls\":[");
        int n = 0;
        for (Call child : c.children) {
            sb.append(n++ == 0 ? "" : ",");
            json(sb, child, origin);
        }
        sb.append("]}");
    }
}
