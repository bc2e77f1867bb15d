package dev.spyglass;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What the leak tests ({@link LeakTrackerTest}, {@link LeakTrackerCoarseTest}, {@link LeakTrackerCExtensionTest})
 * share: the polls while the target leaks between its two tracemalloc snapshots, and the figures they read from
 * the report of the {@code leak_forever} function against that ground truth.
 */
final class LeakWindow {
    private LeakWindow() {
    }

    /** Polls every 5 ms for {@code nanos}. */
    static void pollFor(LeakTracker t, long nanos) throws Exception {
        long end = System.nanoTime() + nanos;
        while (System.nanoTime() < end) {
            Thread.sleep(5);
            t.poll();
        }
    }

    /** Polls every 5 ms until {@code file} exists (the target wrote its figure), at most {@code nanos}. */
    static void pollUntilWritten(LeakTracker t, Path file, long nanos) throws Exception {
        long deadline = System.nanoTime() + nanos;
        while (!Files.exists(file) && System.nanoTime() < deadline) {
            Thread.sleep(5);
            t.poll();
        }
    }

    static boolean has(LeakReport.StackReport s, String function) {
        return s.frames().stream().anyMatch(f -> f.function().equals(function));
    }

    /** The surviving bytes of every stack through {@code function}. */
    static long survivingBytes(LeakReport report, String function) {
        long bytes = 0;
        for (LeakReport.StackReport s : report.stacks()) {
            if (has(s, function)) {
                bytes += s.survivingBytes();
            }
        }
        return bytes;
    }

    /** The share of the probe records the kernel dropped: allocations or releases not seen. */
    static double lostShare(LeakReport report) {
        long seen = report.allocations() + report.frees();
        return (double) report.lostRecords() / Math.max(1, seen + report.lostRecords());
    }

    /**
     * What decided whether {@code s} is a suspect, for a failure's message: the growth rate, the share of steps up,
     * its allocations, and its surviving bytes at the first, middle and last of the report's snapshots.
     */
    static String growth(LeakReport report, LeakReport.StackReport s) {
        long[] series = s.survivingBytesOverTime();
        int n = series.length;
        return String.format(java.util.Locale.ROOT, "suspect %s: %.0f B/s, %.2f of steps up, %d allocations of %d B,"
                + " %d snapshots over %.2f s, surviving %d / %d / %d B", s.suspect(), s.growthBytesPerSecond(),
                s.growingShare(), s.allocations(), s.allocatedBytes(), n,
                n == 0 || report.snapshotSeconds().length < n ? 0.0 : report.snapshotSeconds()[n - 1] - report.snapshotSeconds()[0],
                n == 0 ? 0 : series[0], n == 0 ? 0 : series[n / 2], n == 0 ? 0 : series[n - 1]);
    }

    /**
     * The stacks but those under the target's own tracemalloc snapshot ({@code leaked_bytes}): memory that grew
     * too (its objects, some still being freed at the last poll), so a ranking is judged among the others.
     */
    static List<LeakReport.StackReport> withoutSnapshots(LeakReport report) {
        return report.stacks().stream().filter(s -> !has(s, "leaked_bytes")).toList();
    }
}
