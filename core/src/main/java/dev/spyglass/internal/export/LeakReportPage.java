package dev.spyglass.internal.export;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

import dev.spyglass.Frame;
import dev.spyglass.LeakReport;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadStack;
import dev.spyglass.ThreadState;
import dev.spyglass.export.ProfileMetadata;
import dev.spyglass.export.ThreadGrouping;

/**
 * The HTML page of a {@link LeakReport}: the {@link HtmlFlameGraphExporter}'s page (one self-contained file, no
 * network) whose flame graph weighs each stack by its surviving bytes (mode {@code leaks}), with a section
 * added under its header: what the figures mean, the ranking table (suspects first, as the text report) and,
 * for each of the first stacks, an inline SVG plot of its surviving bytes over the run. The plots are drawn here,
 * not by the page's script, so they show even with scripts off.
 */
public final class LeakReportPage {
    /** Stacks plotted at most. */
    static final int PLOTS = 5;
    private static final int W = 560;
    private static final int H = 150;
    private static final int PAD_LEFT = 70;
    private static final int PAD_BOTTOM = 22;

    private LeakReportPage() {
    }

    /**
     * Writes the page.
     *
     * @param top stacks in the table (and in the flame graph: the flame graph holds every stack)
     */
    public static void write(LeakReport r, int top, OutputStream out) throws IOException {
        ByteArrayOutputStream page = new ByteArrayOutputStream(1 << 16);
        ProfileMetadata m = ProfileMetadata.builder().pid(r.pid()).mode("leaks")
                .duration(Duration.ofNanos((long) (r.seconds() * 1e9))).samples(r.allocations()).build();
        try (HtmlFlameGraphExporter e = HtmlFlameGraphExporter.builder().metadata(m).threads(ThreadGrouping.ALL)
                .title("Spyglass leaks: process " + r.pid()).build(page)) {
            for (LeakReport.StackReport s : r.stacks()) {
                if (s.survivingBytes() > 0 && !s.frames().isEmpty()) {
                    e.accept(new StackSample(new ThreadStack(r.pid(), 0, 0, "surviving memory", 0,
                            ThreadState.RUNNING, null, s.frames()), 0, s.survivingBytes()));
                }
            }
        }
        String html = page.toString(StandardCharsets.UTF_8);
        int at = html.indexOf("</header>");
        if (at < 0) {
            throw new IllegalStateException("the flame graph page has no header to put the leak report under");
        }
        at += "</header>".length();
        String section = section(r, top);
        out.write((html.substring(0, at) + section + html.substring(at)).getBytes(StandardCharsets.UTF_8));
    }

    static String section(LeakReport r, int top) {
        StringBuilder sb = new StringBuilder(8192);
        sb.append("\n<section id=\"leaks\" style=\"padding:8px 16px;background:#fff;border-bottom:1px solid #ddd\">\n");
        sb.append("<h2 style=\"font-size:15px;margin:4px 0\">Surviving memory by stack</h2>\n<p id=\"leak-summary\">");
        sb.append(escape(String.format(Locale.ROOT, "Probes on %s for %.1f s: %,d allocations and %,d releases seen,"
                + " %,d allocations surviving; %,d probe records lost, %,d dropped (table full).", r.probes(),
                r.seconds(), r.allocations(), r.frees(), r.live(), r.lostRecords(), r.dropped())));
        sb.append("</p>\n<p id=\"leak-meaning\" style=\"color:#555\">");
        sb.append(escape(r.meaning()));
        sb.append(" A leak suspect is a stack whose surviving memory grew steadily over the run. The flame graph"
                + " below weighs each stack by its surviving bytes.</p>\n");
        List<LeakReport.StackReport> stacks = r.stacks();
        int n = Math.min(top, stacks.size());
        sb.append("<table id=\"leak-table\" style=\"border-collapse:collapse;margin:6px 0\">\n<thead><tr>");
        for (String h : new String[] {"#", "verdict", "surviving bytes", "blocks", "allocations", "growth B/s",
            "changes up", "stack (innermost first)"}) {
            sb.append("<th style=\"text-align:left;padding:2px 8px;border-bottom:1px solid #ccc\">").append(h)
                    .append("</th>");
        }
        sb.append("</tr></thead>\n<tbody>\n");
        for (int i = 0; i < n; i++) {
            LeakReport.StackReport s = stacks.get(i);
            sb.append("<tr data-suspect=\"").append(s.suspect()).append("\" data-bytes=\"").append(s.survivingBytes())
                    .append("\">");
            cell(sb, Integer.toString(i + 1));
            cell(sb, s.suspect() ? "LEAK SUSPECT" : "surviving");
            cell(sb, String.format(Locale.ROOT, "%,d", s.survivingBytes()));
            cell(sb, String.format(Locale.ROOT, "%,d", s.survivingCount()));
            cell(sb, String.format(Locale.ROOT, "%,d", s.allocations()));
            cell(sb, String.format(Locale.ROOT, "%,.0f", s.growthBytesPerSecond()));
            cell(sb, String.format(Locale.ROOT, "%.0f%%", 100 * s.growingShare()));
            cell(sb, stackText(s.frames(), 6));
            sb.append("</tr>\n");
        }
        sb.append("</tbody></table>\n");
        if (stacks.size() > n) {
            sb.append("<p>").append(stacks.size() - n).append(" more stacks with surviving memory.</p>\n");
        }
        int plots = Math.min(PLOTS, n);
        if (plots > 0) {
            sb.append("<h2 style=\"font-size:15px;margin:10px 0 4px\">Surviving bytes over time</h2>\n"
                    + "<div style=\"display:flex;flex-wrap:wrap;gap:10px\">\n");
            for (int i = 0; i < plots; i++) {
                plot(sb, i, stacks.get(i), r.snapshotSeconds());
            }
            sb.append("</div>\n");
        }
        return sb.append("</section>\n").toString();
    }

    private static void cell(StringBuilder sb, String text) {
        sb.append("<td style=\"padding:2px 8px;vertical-align:top;border-bottom:1px solid #eee\">")
                .append(escape(text)).append("</td>");
    }

    private static String stackText(List<Frame> frames, int max) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(max, frames.size()); i++) {
            sb.append(i == 0 ? "" : " ← ").append(frames.get(i).qualifiedName());
        }
        return frames.size() > max ? sb.append(" ← …").toString() : sb.toString();
    }

    /** One stack's surviving bytes against the snapshot times: an SVG polyline with its axes' extremes. */
    private static void plot(StringBuilder sb, int rank, LeakReport.StackReport s, double[] times) {
        long[] series = s.survivingBytesOverTime();
        int k = Math.min(series.length, times.length);
        long max = 1;
        for (int i = 0; i < k; i++) {
            max = Math.max(max, series[i]);
        }
        double t0 = k == 0 ? 0 : times[0];
        double span = k < 2 ? 1 : Math.max(1e-9, times[k - 1] - t0);
        sb.append("<figure style=\"margin:0\"><figcaption style=\"font-size:12px\">#").append(rank + 1).append(' ')
                .append(escape(s.frames().isEmpty() ? "?" : s.frames().get(0).qualifiedName()))
                .append(s.suspect() ? " (leak suspect)" : "").append("</figcaption>\n");
        sb.append(String.format(Locale.ROOT, "<svg class=\"leak-plot\" data-rank=\"%d\" width=\"%d\" height=\"%d\""
                + " viewBox=\"0 0 %d %d\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\">", rank + 1, W, H, W, H));
        int plotW = W - PAD_LEFT - 10;
        int plotH = H - PAD_BOTTOM - 8;
        sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"8\" width=\"%d\" height=\"%d\" fill=\"#fcfcfc\""
                + " stroke=\"#ccc\"/>", PAD_LEFT, plotW, plotH));
        sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"16\" text-anchor=\"end\" font-size=\"10\">%s</text>",
                PAD_LEFT - 4, bytes(max)));
        sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-size=\"10\">0 B</text>",
                PAD_LEFT - 4, 8 + plotH));
        sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"10\">%.1f s</text>", PAD_LEFT,
                H - 6, t0));
        sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-size=\"10\">%.1f s"
                + "</text>", W - 10, H - 6, t0 + (k < 2 ? 0 : span)));
        sb.append("<polyline fill=\"none\" stroke=\"").append(s.suspect() ? "#c0392b" : "#2c6fb7")
                .append("\" stroke-width=\"1.5\" points=\"");
        for (int i = 0; i < k; i++) {
            double x = PAD_LEFT + plotW * (k < 2 ? 0 : (times[i] - t0) / span);
            double y = 8 + plotH - plotH * (double) Math.max(0, series[i]) / max;
            sb.append(i == 0 ? "" : " ").append(String.format(Locale.ROOT, "%.1f,%.1f", x, y));
        }
        sb.append("\"/></svg></figure>\n");
    }

    private static String bytes(long b) {
        if (b >= 10L << 20) {
            return String.format(Locale.ROOT, "%.0f MiB", b / 1048576.0);
        }
        if (b >= 10L << 10) {
            return String.format(Locale.ROOT, "%.0f KiB", b / 1024.0);
        }
        return b + " B";
    }

    private static String escape(String s) {
        return HtmlFlameGraphExporter.escapeHtml(s);
    }
}
