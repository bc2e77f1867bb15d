package dev.spyglass.examples;

import java.util.List;
import java.util.Locale;

import dev.spyglass.LatencyHistogram;

/** The texts of {@code spyglass latency}: the live screen, the plain line per second, the JSON and HTML reports. */
final class LatencyReport {
    private LatencyReport() {
    }

    static String us(long nanos) {
        return String.format(Locale.ROOT, "%.3f", nanos / 1000.0);
    }

    private static String human(long nanos) {
        if (nanos >= 1_000_000_000L) {
            return String.format(Locale.ROOT, "%.2f s", nanos / 1e9);
        }
        if (nanos >= 1_000_000L) {
            return String.format(Locale.ROOT, "%.2f ms", nanos / 1e6);
        }
        return String.format(Locale.ROOT, "%.1f µs", nanos / 1e3);
    }

    /** One line: what a non-terminal stdout gets every second. */
    static String line(String function, double seconds, LatencyHistogram h, double rate) {
        return String.format(Locale.ROOT, "%.0fs %s: count=%d p50=%s p90=%s p99=%s max=%s calls/s=%.0f", seconds,
                function, h.count(), human(h.percentileNanos(0.5)), human(h.percentileNanos(0.9)),
                human(h.percentileNanos(0.99)), human(h.maxNanos()), rate);
    }

    /** The screen of a terminal: the figures, then one bar per power of two of the durations. */
    static String screen(String function, long pid, double seconds, LatencyHistogram h, double rate, long lost) {
        StringBuilder sb = new StringBuilder("\033[H\033[2J");
        sb.append(String.format(Locale.ROOT, "spyglass latency: %s in process %d, %.0f s, %,.0f calls/s, %d records"
                + " lost%n%n", function, pid, seconds, rate, lost));
        sb.append(String.format(Locale.ROOT, "count %,d   p50 %s   p90 %s   p99 %s   max %s%n%n", h.count(),
                human(h.percentileNanos(0.5)), human(h.percentileNanos(0.9)), human(h.percentileNanos(0.99)),
                human(h.maxNanos())));
        List<LatencyHistogram.Bucket> buckets = h.buckets();
        if (buckets.isEmpty()) {
            return sb.append("(no call completed yet)\n").toString();
        }
        // The fine buckets, summed per power of two for the screen.
        long[] perPower = new long[64];
        int lo = 63;
        int hi = 0;
        for (LatencyHistogram.Bucket b : buckets) {
            int e = 63 - Long.numberOfLeadingZeros(Math.max(1, b.lowNanos()));
            perPower[e] += b.count();
            lo = Math.min(lo, e);
            hi = Math.max(hi, e);
        }
        long most = 1;
        for (long c : perPower) {
            most = Math.max(most, c);
        }
        for (int e = lo; e <= hi; e++) {
            int bar = (int) Math.round(50.0 * perPower[e] / most);
            sb.append(String.format(Locale.ROOT, "%10s - %-10s %10d |%s%n", human(1L << e), human(1L << (e + 1)),
                    perPower[e], "#".repeat(bar)));
        }
        return sb.toString();
    }

    /**
     * {@code {"function":…, "count":N, "p50_us":…, "p90_us":…, "p99_us":…, "max_us":…, "buckets":[…]}}, each bucket
     * {@code {"low_us":…, "high_us":…, "count":N}} (calls at least low and less than high), non-empty ones only.
     */
    static String json(String function, LatencyHistogram h, SlowCallStacks slowest) {
        StringBuilder sb = new StringBuilder("{\"function\":");
        Json.string(sb, function);
        sb.append(",\"count\":").append(h.count()).append(",\"p50_us\":").append(us(h.percentileNanos(0.5)))
                .append(",\"p90_us\":").append(us(h.percentileNanos(0.9))).append(",\"p99_us\":")
                .append(us(h.percentileNanos(0.99))).append(",\"max_us\":").append(us(h.maxNanos()))
                .append(",\"buckets\":[");
        int i = 0;
        for (LatencyHistogram.Bucket b : h.buckets()) {
            sb.append(i++ == 0 ? "" : ",").append("{\"low_us\":").append(us(b.lowNanos())).append(",\"high_us\":")
                    .append(us(b.highNanos())).append(",\"count\":").append(b.count()).append('}');
        }
        sb.append(']');
        if (slowest != null) { // --by-stack only
            slowest.json(sb);
        }
        return sb.append("}\n").toString();
    }

    /** A self-contained page: the figures and one bar per bucket (no script, no external resource). */
    static String html(String function, long pid, LatencyHistogram h, SlowCallStacks slowest) {
        StringBuilder sb = new StringBuilder("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>latency of ");
        String f = escape(function);
        sb.append(f).append("</title><style>body{font:14px sans-serif;margin:2em}td{padding:1px 6px}"
                + "td.n{text-align:right}div.b{background:#4a7fc1;height:12px}</style></head><body>\n");
        sb.append("<h1>Latency of ").append(f).append(" in process ").append(pid).append("</h1>\n<p>");
        sb.append(String.format(Locale.ROOT, "%,d calls; p50 %s µs, p90 %s µs, p99 %s µs, max %s µs", h.count(),
                us(h.percentileNanos(0.5)), us(h.percentileNanos(0.9)), us(h.percentileNanos(0.99)), us(h.maxNanos())));
        sb.append("</p>\n<table><tr><th>from µs</th><th>to µs</th><th>calls</th><th></th></tr>\n");
        long most = 1;
        for (LatencyHistogram.Bucket b : h.buckets()) {
            most = Math.max(most, b.count());
        }
        for (LatencyHistogram.Bucket b : h.buckets()) {
            sb.append("<tr><td class=\"n\">").append(us(b.lowNanos())).append("</td><td class=\"n\">")
                    .append(us(b.highNanos())).append("</td><td class=\"n\">").append(b.count())
                    .append("</td><td><div class=\"b\" style=\"width:")
                    .append(Math.max(1, Math.round(400.0 * b.count() / most))).append("px\"></div></td></tr>\n");
        }
        sb.append("</table>\n");
        if (slowest != null) {
            sb.append("<pre>").append(escape(slowest.text())).append("</pre>\n");
        }
        return sb.append("</body></html>\n").toString();
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
