package dev.spyglass.examples;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import dev.spyglass.ChildProcessCounts;
import dev.spyglass.SampledProcess;
import dev.spyglass.SamplingSession;
import picocli.CommandLine.Option;

/**
 * {@code --children} ({@code -C}, as in Austin; {@code --subprocesses}, as in py-spy) of {@code record}, {@code top}
 * and {@code dump}, and the summary of the processes a recording sampled.
 */
final class ChildrenOption {
    /** Processes listed in a summary; the rest are counted in one line. */
    private static final int LISTED = 20;

    @Option(names = {"-C", "--children", "--subprocesses"}, description = "Also sample the CPython processes among "
            + "the target's descendants (multiprocessing workers, subprocesses, pre-fork servers' workers) as they "
            + "appear, until each exits; a shell or other program between them is passed through. Profiles then "
            + "have a process level above threads.")
    boolean children;

    /** The descendants of {@code pid} (children first) as this JVM sees them now, at most 1,024. */
    static List<Long> descendants(long pid) {
        List<Long> out = new ArrayList<>();
        ProcessHandle.of(pid).ifPresent(p -> p.descendants().limit(1024).forEach(d -> out.add(d.pid())));
        return out;
    }

    /** With {@code --children}: one line per process sampled (pid, parent, samples, Python, command), and the skipped. */
    void printSummary(SamplingSession session, PrintStream err) {
        if (!children) {
            return;
        }
        List<SampledProcess> all = session.processes();
        ChildProcessCounts c = session.childProcesses();
        err.printf(Locale.ROOT, "spyglass: %d process%s sampled; of %,d descendants found, %,d not Python%s%s%s%s%n",
                all.size(), all.size() == 1 ? "" : "es", c.found(), c.notPython(),
                c.accessDenied() > 0 ? String.format(Locale.ROOT, ", %,d not readable (another user's?)",
                        c.accessDenied()) : "",
                c.exitedBeforeAttach() > 0 ? String.format(Locale.ROOT, ", %,d gone before attach",
                        c.exitedBeforeAttach()) : "",
                c.unsupported() > 0 ? String.format(Locale.ROOT, ", %,d unreadable CPython", c.unsupported()) : "",
                c.deferred() > 0 ? String.format(Locale.ROOT, " (%,d looks put off: too many at once)", c.deferred())
                        : "");
        err.printf(Locale.ROOT, "  %8s %8s %10s  %-8s %s%n", "PID", "PARENT", "SAMPLES", "PYTHON", "COMMAND");
        for (int i = 0; i < Math.min(LISTED, all.size()); i++) {
            SampledProcess p = all.get(i);
            err.printf(Locale.ROOT, "  %8d %8d %,10d  %-8s %s%n", p.pid(), p.parentPid(), p.samples(),
                    p.version().major() + "." + p.version().minor(), TerminalText.escape(p.command()));
        }
        if (all.size() > LISTED) {
            err.printf(Locale.ROOT, "  ... and %d more (%,d samples)%n", all.size() - LISTED,
                    all.subList(LISTED, all.size()).stream().mapToLong(SampledProcess::samples).sum());
        }
    }
}
