package dev.spyglass.examples;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

import dev.spyglass.SamplingSession;
import dev.spyglass.SamplingStats;

/** A one-line status on stderr, rewritten in place, shown only when stderr is a terminal. */
final class LiveStatus {
    private final Thread thread;

    private LiveStatus(Thread thread) {
        this.thread = thread;
    }

    static boolean stderrIsTerminal() {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
        } catch (Exception e) {
            return false;
        }
    }

    static LiveStatus startIfTerminal(PrintStream err, SamplingSession session, Path out) {
        if (!stderrIsTerminal()) {
            return new LiveStatus(null);
        }
        Thread t = new Thread(() -> {
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    Thread.sleep(250);
                    err.print("\r\033[K" + line(session.stats(), out));
                    err.flush();
                }
            } catch (InterruptedException e) {
                // stop
            }
        }, "spyglass-status");
        t.setDaemon(true);
        t.start();
        return new LiveStatus(t);
    }

    /** The status line's text: elapsed, samples, rate, torn share, and a warning when behind. */
    static String line(SamplingStats s, Path out) {
        long tries = s.samples() + s.tornSamples();
        return String.format(Locale.ROOT, "  %s  %,d samples  %,.0f/s%s  torn %.2f%%  -> %s",
                Durations.format(s.elapsed()), s.samples(), s.achievedRate(),
                s.fellBehind() ? String.format(Locale.ROOT, " of %,.0f/s (BEHIND: %,d ticks skipped)",
                        s.requestedRate(), s.skippedTicks()) : "",
                tries == 0 ? 0.0 : 100.0 * s.tornSamples() / tries, out.getFileName());
    }

    /**
     * The share of thread reads torn at their first attempt and how many the retry recovered, after the torn
     * share of the summary: {@code " (first reads 3.10%, 2,345 of 2,400 recovered by a retry)"}; empty when no
     * first read was torn.
     */
    static String retryNote(SamplingStats s) {
        SamplingStats.TornReads t = s.tornReads();
        if (t.tornAtFirst() == 0) {
            return "";
        }
        // Attempts as for the torn share: one read per thread per tick, whole (a sample) or torn.
        long tries = s.samples() + s.tornSamples();
        return String.format(Locale.ROOT, " (first reads %.2f%%, %,d of %,d recovered by a retry)",
                tries == 0 ? 0.0 : 100.0 * t.tornAtFirst() / tries, t.recovered(), t.tornAtFirst());
    }

    /**
     * The warning for a sampler that took fewer than 90% of its planned ticks, as py-spy's "behind in
     * sampling"; empty when it kept up.
     */
    static String behindWarning(SamplingStats s) {
        if (!s.fellBehind()) {
            return "";
        }
        double percent = 100 * s.achievedShare();
        return String.format(Locale.ROOT, "; BEHIND IN SAMPLING: %s%% of the planned ticks taken (%,.0f of %,.0f/s, "
                + "%,d skipped), results may be inaccurate: use a longer -i or a less loaded machine",
                String.format(Locale.ROOT, percent < 1 ? "%.2f" : "%.0f", percent), s.achievedRate(),
                s.requestedRate(), s.skippedTicks());
    }

    void stop() {
        if (thread != null) {
            thread.interrupt();
            try {
                thread.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            System.err.print("\r\033[K");
            System.err.flush();
        }
    }

    /**
     * {@code spyglass: threads stopped 1,234 times for native frames: median 21 µs, p99 130 µs, max 2.1 ms}:
     * what native frames cost the target, said in the summary.
     */
    static String stopsLine(dev.spyglass.SamplingStats.ThreadStops t) {
        return String.format(Locale.ROOT, "spyglass: threads stopped %,d times for native frames: median %s, p99 %s, max %s",
                t.stops(), micros(t.median()), micros(t.p99()), micros(t.max()));
    }

    private static String micros(java.time.Duration d) {
        long us = d.toNanos() / 1000;
        return us < 10_000 ? String.format(Locale.ROOT, "%,d µs", us) : String.format(Locale.ROOT, "%.1f ms", us / 1000.0);
    }
}
