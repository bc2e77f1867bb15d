package dev.spyglass.examples;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import dev.spyglass.Frame;
import dev.spyglass.LeakReport;
import dev.spyglass.LeakTracker;
import dev.spyglass.ProcessGoneException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code spyglass leaks}: uprobes on the target's allocator for a while, then the stacks whose memory survives. */
@Command(name = "leaks", mixinStandardHelpOptions = true,
        description = {"Tracks every small-object allocation and release of a running CPython with uprobes (exact"
                + " level; --level coarse: only the raw allocator's blocks over 512 bytes, pymalloc's arenas and anonymous"
                + " mmaps; --level pools: as coarse, with pymalloc's pools in place of its arenas) and reports the Python stacks (--native: merged with native frames) whose allocations survive, the stacks"
                + " whose surviving memory grew steadily over the run (leak suspects) first.",
                "Needs root (or CAP_PERFMON). The probes are removed when the run ends, or if"
                        + " spyglass is killed.",
                "Cost: every allocation and release traps into the kernel (an allocation twice: entry and return);"
                        + " a 3.12 loop doing nothing but allocate and free ran " + LeaksCommand.COST
                        + " (docs/performance.md). For short debugging sessions. --level coarse: the same loop ran "
                        + LeaksCommand.COARSE_COST + ". See docs/memory.md."})
final class LeaksCommand implements Callable<Integer> {
    /** Measured, see docs/performance.md (leaks). */
    static final String COST = "about 140 times slower with the probes on (7,000 instead of 1,000,000"
            + " iterations per 0.5 s, 46,000 allocations/s tracked)";
    /** Measured, see docs/performance.md (leaks). */
    static final String COARSE_COST = "with no trap at all (it allocates no block over 512 bytes), but a block over"
            + " 512 bytes costs what an exact-level allocation does (a loop allocating a 1,000-byte object per"
            + " iteration: 2,000 - 11,000 instead of ~500,000 iterations per 0.5 s); its arena probes fire about"
            + " once per MiB of small objects kept (a loop keeping its small objects: 452 allocations, mostly"
            + " arenas, and 456 releases in 8.3 s; no slowdown measurable on a loaded machine), and its mmap probes"
            + " three times per mapping the program makes and unmaps itself, twice more per mremap (a loop"
            + " mapping 64 KiB per iteration ran 4 - 7 times slower, about 4,000 mappings/s tracked)";

    /** Measured, see docs/performance.md (leaks). */
    static final String POOLS_COST = "a trap pair per pool taken: a loop keeping every small object it makes took"
            + " 5,600 - 7,600 pools a second and ran within this machine's noise of its speed unprobed (263,000 -"
            + " 336,000 against 246,000 - 352,000 iterations per 0.5 s); a loop freeing what it makes took none";

    @Option(names = {"-p", "--pid"}, paramLabel = "PID", required = true, description = "The process to track.")
    long pid;

    @Option(names = {"-d", "--duration"}, paramLabel = "DURATION", defaultValue = "60s",
            description = "How long the probes stay (default 60s; e.g. 10s, 2m).")
    String duration;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE",
            description = "Write the report here: .json for JSON, .html for a page with a flame graph of the"
                    + " surviving memory and a plot of each top stack's surviving bytes over time, else text"
                    + " (default: print the text).")
    Path output;

    @Option(names = "--top", paramLabel = "N", defaultValue = "10", description = "Stacks in the report (default 10).")
    int top;

    @Option(names = "--capacity", paramLabel = "N", defaultValue = "" + LeakTracker.DEFAULT_CAPACITY,
            description = "Live allocations kept at most; beyond, new ones are counted as dropped.")
    int capacity;

    @Option(names = "--level", paramLabel = "LEVEL", defaultValue = "exact",
            description = "exact (default): every small-object allocation and release; coarse: only the raw"
                    + " allocator (blocks over 512 bytes: big objects, long lists' item arrays, buffers) and"
                    + " pymalloc's arena refills (stacks under <pymalloc arena>: the allocation that needed a new"
                    + " arena, a sample of where small objects grow; by symbol, or through the arena table on"
                    + " stripped builds) and the C library's mmap / munmap / mremap (anonymous mappings the program"
                    + " makes itself, followed when unmapped in part or moved), for long runs where small objects"
                    + " dominate; pools: as coarse, with pymalloc's pool refills (16 KiB, 4 KiB on 3.9; stacks under"
                    + " <pymalloc pool>) in place of its arenas where the build names allocate_from_new_pool (3.9+"
                    + " with symbols), a pool's release read from its header at each poll: 64 times finer than"
                    + " arenas, " + LeaksCommand.POOLS_COST + ".")
    String level;

    @Option(names = "--native", description = "Also copy the user stack at each allocation and merge the native (C)"
            + " frames into its stack: 8 KiB more per allocation, which a busy target makes the kernel drop (counted"
            + " as lost records).")
    boolean nativeFrames;

    @Option(names = "--redirect-allocator", description = "On Debian's stripped builds (3.11, 3.13 - 3.15), whose"
            + " inlined copies of pymalloc the probes do not see while the allocator tables hold their defaults:"
            + " point each table entry 4 bytes on (past its endbr64, one byte written per entry) for the run, so every"
            + " allocation calls through the table and is probed; written back at the end. The one change spyglass"
            + " makes to a target; if spyglass is killed the tables stay redirected (the same allocator, called"
            + " indirectly). No effect on other builds. Cost: every allocation traps, as on other builds (Debian"
            + " trixie 3.13, the same loop: 4,000 - 5,000 instead of ~3,000,000 iterations per 0.5 s). See"
            + " docs/memory.md.")
    boolean redirectAllocator;

    private final PrintStream out;
    private final PrintStream err;

    LeaksCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    @Override
    public Integer call() {
        if (pid <= 0) {
            err.println("spyglass leaks: -p must be a process id (> 0), not " + pid);
            return Failures.USAGE;
        }
        Duration d;
        try {
            d = Durations.parse("--duration", duration, "s");
        } catch (IllegalArgumentException e) {
            err.println("spyglass: " + e.getMessage());
            return Failures.USAGE;
        }
        LeakTracker.Level lv;
        switch (level) {
            case "exact" -> lv = LeakTracker.Level.EXACT;
            case "coarse" -> lv = LeakTracker.Level.COARSE;
            case "pools" -> lv = LeakTracker.Level.POOLS;
            default -> {
                err.println("spyglass: --level must be exact, coarse or pools, not " + level);
                return Failures.USAGE;
            }
        }
        LeakReport report;
        int status = 0;
        try (LeakTracker t = LeakTracker.attach(pid, capacity, nativeFrames, lv, redirectAllocator)) {
            err.println("spyglass: probes on " + t.probes() + " of process " + pid + " for " + duration);
            long end = System.nanoTime() + d.toNanos();
            long polls = 0;
            long polling = 0;
            try {
                while (System.nanoTime() < end) {
                    Thread.sleep(5);
                    long p0 = System.nanoTime();
                    t.poll();
                    polling += System.nanoTime() - p0;
                    polls++;
                }
            } catch (ProcessGoneException e) {
                err.println("spyglass: process " + pid + " ended before the run did; the report holds what was seen");
                status = Failures.TARGET_ENDED;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            report = t.report();
            for (LeakReport.AllocatorChange c : report.allocatorChanges()) {
                err.println("spyglass: " + c.describe());
            }
            if (Boolean.getBoolean("spyglass.leaks.debug")) {
                err.printf("spyglass: %d polls, %.1f ms each%n", polls, polling / 1e6 / Math.max(1, polls));
            }
        } catch (Exception e) {
            return Failures.report(e, err);
        }
        String name = output == null ? "" : output.toString();
        if (output == null) {
            out.print(text(report));
        } else {
            try {
                if (name.endsWith(".html") || name.endsWith(".htm")) {
                    try (java.io.OutputStream o = Files.newOutputStream(output)) {
                        report.writeHtml(o, top);
                    }
                } else {
                    Files.writeString(output, name.endsWith(".json") ? json(report) : text(report),
                            StandardCharsets.UTF_8);
                }
            } catch (IOException e) {
                err.println("spyglass: cannot write " + output + ": " + e.getMessage());
                return Failures.OTHER;
            }
        }
        return status;
    }

    String text(LeakReport r) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "Leak report for process %d: %.1f s, probes on %s%n", r.pid(), r.seconds(),
                r.probes()));
        sb.append(r.meaning()).append('\n');
        for (LeakReport.AllocatorChange c : r.allocatorChanges()) {
            sb.append("Allocator change: ").append(c.describe()).append('\n');
        }
        sb.append(String.format(Locale.ROOT, "%,d allocations, %,d releases seen; %,d allocations surviving"
                + " (at least, for releases through paths not probed)%n", r.allocations(), r.frees(), r.live()));
        long seen = r.allocations() + r.frees();
        sb.append(String.format(Locale.ROOT, "lost probe records: %,d (%.2f%% of those seen); dropped (table full):"
                + " %,d; releases of blocks allocated before: %,d%n", r.lostRecords(),
                seen == 0 ? 0.0 : 100.0 * r.lostRecords() / (seen + r.lostRecords()), r.dropped(), r.unmatchedFrees()));
        List<LeakReport.StackReport> stacks = r.stacks();
        int n = Math.min(top, stacks.size());
        for (int i = 0; i < n; i++) {
            LeakReport.StackReport s = stacks.get(i);
            sb.append(String.format(Locale.ROOT, "%n#%d %s %,d bytes in %,d blocks surviving (of %,d allocations),"
                    + " growing %,.0f B/s (%.0f%% of changes up)%n", i + 1, s.suspect() ? "LEAK SUSPECT" : "surviving",
                    s.survivingBytes(), s.survivingCount(), s.allocations(), s.growthBytesPerSecond(),
                    100 * s.growingShare()));
            int f = 0;
            for (Frame frame : s.frames()) {
                if (f++ == 24) {
                    sb.append("    ...\n");
                    break;
                }
                sb.append("    ").append(describe(frame)).append('\n');
            }
        }
        if (stacks.size() > n) {
            sb.append(String.format(Locale.ROOT, "%n(%d more stacks with surviving memory)%n", stacks.size() - n));
        }
        return sb.toString();
    }

    private static String describe(Frame f) {
        if (f.file() == null || f.file().isEmpty()) {
            return f.qualifiedName();
        }
        return f.qualifiedName() + " (" + f.file() + (f.line() > 0 ? ":" + f.line() : "") + ")";
    }

    String json(LeakReport r) {
        StringBuilder sb = new StringBuilder("{\"pid\":").append(r.pid()).append(",\"level\":");
        Json.string(sb, r.level());
        sb.append(",\"probes\":");
        Json.string(sb, r.probes());
        sb.append(String.format(Locale.ROOT, ",\"seconds\":%.3f,\"allocations\":%d,\"frees\":%d,\"live\":%d,"
                + "\"dropped\":%d,\"unmatched_frees\":%d,\"lost_records\":%d,\"snapshot_seconds\":[", r.seconds(),
                r.allocations(), r.frees(), r.live(), r.dropped(), r.unmatchedFrees(), r.lostRecords()));
        double[] times = r.snapshotSeconds();
        for (int i = 0; i < times.length; i++) {
            sb.append(i == 0 ? "" : ",").append(String.format(Locale.ROOT, "%.3f", times[i]));
        }
        sb.append("],\"allocator_changes\":[");
        int c = 0;
        for (LeakReport.AllocatorChange ch : r.allocatorChanges()) {
            sb.append(c++ == 0 ? "" : ",").append(String.format(Locale.ROOT, "{\"seconds\":%.3f,\"domain\":\"%s\","
                    + "\"before\":\"0x%x\",\"after\":\"0x%x\",\"seen\":%b,\"moved_to\":", ch.seconds(), ch.domain(),
                    ch.before(), ch.after(), ch.seen()));
            Json.string(sb, ch.movedTo());
            sb.append('}');
        }
        sb.append("],\"stacks\":[");
        List<LeakReport.StackReport> stacks = r.stacks();
        for (int i = 0; i < Math.min(top, stacks.size()); i++) {
            LeakReport.StackReport s = stacks.get(i);
            sb.append(i == 0 ? "" : ",").append(String.format(Locale.ROOT, "{\"suspect\":%b,\"surviving_bytes\":%d,"
                    + "\"surviving_count\":%d,\"allocations\":%d,\"allocated_bytes\":%d,\"growth_bytes_per_second\":%.1f,"
                    + "\"growing_share\":%.3f,\"surviving_bytes_over_time\":[", s.suspect(), s.survivingBytes(),
                    s.survivingCount(), s.allocations(), s.allocatedBytes(), s.growthBytesPerSecond(), s.growingShare()));
            long[] series = s.survivingBytesOverTime();
            for (int k = 0; k < series.length; k++) {
                sb.append(k == 0 ? "" : ",").append(series[k]);
            }
            sb.append("],\"frames\":[");
            int k = 0;
            for (Frame f : s.frames()) {
                sb.append(k++ == 0 ? "" : ",").append("{\"name\":");
                Json.string(sb, f.qualifiedName());
                sb.append(",\"file\":");
                Json.string(sb, f.file() == null ? "" : f.file());
                sb.append(",\"line\":").append(f.line()).append(",\"kind\":\"").append(f.kind()).append("\"}");
            }
            sb.append("]}");
        }
        return sb.append("]}\n").toString();
    }
}
