package dev.spyglass.examples;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.Callable;

import dev.spyglass.Frame;
import dev.spyglass.Sampler;
import dev.spyglass.SamplingSession;
import dev.spyglass.SamplingStats;
import dev.spyglass.SpyglassException;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadState;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code spyglass top}: the hottest functions, refreshed every second, like {@code py-spy top}. */
@Command(name = "top", mixinStandardHelpOptions = true,
        description = "Live view of the hottest functions (own and total share of samples), refreshed every second.")
final class TopCommand implements Callable<Integer> {

    @Option(names = {"-p", "--pid"}, paramLabel = "PID", description = "Attach to this process.")
    Long pid;

    @Option(names = {"-i", "--interval"}, paramLabel = "INTERVAL", defaultValue = "1ms",
            description = "Time between samples (bare number = microseconds). Default: ${DEFAULT-VALUE}.")
    String interval;

    @Option(names = "--idle", description = "Count idle threads too.")
    boolean idle;

    @Option(names = "--launch-timeout", paramLabel = "DURATION", defaultValue = "10s",
            description = "How long a launched command may take to start a CPython. Default: ${DEFAULT-VALUE}.")
    String launchTimeout;

    @picocli.CommandLine.Mixin
    ChildrenOption children = new ChildrenOption();

    @Option(names = "--rows", defaultValue = "20", description = "Functions shown. Default: ${DEFAULT-VALUE}.")
    int rows;

    @Option(names = "--native", arity = "0..1", fallbackValue = "brief-stop", paramLabel = "ENGINE",
            converter = NativeEngineOption.Converter.class, description = "Count native (C) functions too: time "
            + "inside a C extension shows under its own name. ENGINE: " + NativeEngineOption.DESCRIPTION
            + " See docs/native-frames.md.")
    Sampler.NativeEngine nativeFrames;

    @Option(names = "--async", description = "Count asyncio tasks too: <task NAME> rows for the running task and "
            + "the tasks awaiting it (CPython 3.8+). See docs/asyncio-tasks.md.")
    boolean asyncTasks;

    @Option(names = "--kernel", description = "Count kernel functions too (the system calls threads wait in). Needs "
            + "root; without the right, runs without them and says why.")
    boolean kernelFrames;

    @Parameters(paramLabel = "COMMAND", arity = "0..*", description = "Command to launch (after --).")
    List<String> command = new ArrayList<>();

    private final PrintStream out;
    private final PrintStream err;

    TopCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /**
     * Per function ({@link #key}), for one window and overall: own and total sample counts, and of the own
     * samples those whose thread's GIL state was known and those with the GIL released.
     */
    static final class Table {
        final Map<String, long[]> counts = new HashMap<>();
        long samples;

        void add(StackSample s) {
            List<Frame> frames = s.frames();
            if (frames.isEmpty()) {
                return;
            }
            samples++;
            Set<String> seen = new HashSet<>();
            for (int i = 0; i < frames.size(); i++) {
                String key = key(frames.get(i));
                long[] c = counts.computeIfAbsent(key, k -> new long[4]);
                if (i == 0) {
                    c[0]++;
                    if (s.gilHeld() != null) {
                        c[2]++;
                        c[3] += s.gilHeld() ? 0 : 1;
                    }
                }
                if (seen.add(key)) {
                    c[1]++;
                }
            }
        }

        /**
         * {@code qualname (file)}; a native frame {@code symbol (library)}, so a C function's samples gather under
         * its library's file name (however many paths it is mapped from); a pseudo-frame its label.
         */
        static String key(Frame f) {
            return switch (f.kind()) {
                case PYTHON -> f.qualifiedName() + " (" + f.file() + ")";
                case NATIVE -> f.qualifiedName() + " (" + f.library() + ")";
                case KERNEL -> f.qualifiedName() + " " + Frame.KERNEL_FILE;
                case PSEUDO -> f.qualifiedName();
            };
        }

        List<Map.Entry<String, long[]>> hottest(int n) {
            List<Map.Entry<String, long[]>> l = new ArrayList<>(counts.entrySet());
            l.sort((a, b) -> a.getValue()[0] != b.getValue()[0] ? Long.compare(b.getValue()[0], a.getValue()[0])
                    : Long.compare(b.getValue()[1], a.getValue()[1]));
            return l.subList(0, Math.min(n, l.size()));
        }
    }

    /** Whether {@code --native=nonstop} can be honoured; if not, says why in one line and goes on without. */
    private boolean nonStopAllowed() {
        if (nativeFrames != Sampler.NativeEngine.NON_STOP) {
            return true;
        }
        String why = Sampler.nonStopNativeFramesRefusal().orElse(null);
        if (why != null) {
            err.println("spyglass top: without native frames: " + why);
        }
        return why == null;
    }

    /** Whether {@code --kernel} can be honoured; if not, says why in one line and goes on without. */
    private boolean kernelFramesAllowed() {
        String why = Sampler.kernelFramesRefusal().orElse(null);
        if (why != null) {
            err.println("spyglass top: without kernel frames: " + why);
        }
        return why == null;
    }

    @Override
    public Integer call() {
        if ((pid == null) == command.isEmpty()) {
            err.println("spyglass top: give either -p PID or -- COMMAND ARGS...");
            return Failures.USAGE;
        }
        if (pid != null && pid <= 0) {
            err.println("spyglass top: -p must be a process id (> 0), not " + pid);
            return Failures.USAGE;
        }
        if (rows < 1) {
            err.println("spyglass top: --rows must be at least 1, not " + rows);
            return Failures.USAGE;
        }
        Sampler sampler;
        try {
            Duration every = Durations.parse("--interval", interval, "us");
            sampler = Sampler.builder().interval(every.compareTo(RecordCommand.FASTEST) < 0 ? RecordCommand.FASTEST
                    : every).launchTimeout(Durations.parse("--launch-timeout", launchTimeout, "s"))
                    .nativeFrames(nativeFrames != null && nonStopAllowed())
                    .nativeEngine(nativeFrames == null ? Sampler.NativeEngine.BRIEF_STOP : nativeFrames)
                    .kernelFrames(kernelFrames && kernelFramesAllowed()).asyncTasks(asyncTasks)
                    .followChildren(children.children).cpuLimit(RecordCommand.CPU_LIMIT).build();
        } catch (IllegalArgumentException e) {
            err.println("spyglass top: " + e.getMessage());
            return Failures.USAGE;
        }
        if (pid == null) {
            CommandSearch.Problem problem = CommandSearch.problem(command, System.getenv("PATH"));
            if (problem != null) {
                err.println("spyglass: " + problem.message());
                return problem.exitStatus();
            }
        }
        SamplingSession session;
        try {
            session = pid != null ? sampler.attach(pid) : sampler.launch(command);
        } catch (SpyglassException | RuntimeException e) {
            return Failures.report(e, err);
        }
        if (asyncTasks && FrameOptions.asyncTasksRefusal(session.version()) != null) {
            err.println("spyglass: " + FrameOptions.asyncTasksRefusal(session.version()));
        }
        Thread hook = new Thread(session::stop, "spyglass-top-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try (session) {
            Table window = new Table();
            Table overall = new Table();
            long[] nextRefresh = {System.nanoTime() + 1_000_000_000L};
            session.forEach(s -> {
                if (idle || s.state() != ThreadState.IDLE) {
                    window.add(s);
                    overall.add(s);
                }
                if (System.nanoTime() >= nextRefresh[0]) {
                    render(session, window, overall);
                    window.counts.clear();
                    window.samples = 0;
                    nextRefresh[0] = System.nanoTime() + 1_000_000_000L;
                }
            });
            render(session, window.samples > 0 ? window : overall, overall);
        }
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException ignored) {
            // shutting down
        }
        dev.spyglass.ProcessGoneException gone = session.processGone().orElse(null);
        if (gone != null && (pid != null || gone.programReplaced())) {
            // Below the last screen: an attached target's exit ends top as Ctrl-C would (status 0); an
            // exec is not an end the user chose (status 9, as for record).
            err.println(Failures.targetEnded(gone, session.stats().elapsed(), "the view above is its last second"));
            if (gone.programReplaced()) {
                return Failures.TARGET_ENDED;
            }
        }
        OptionalInt exit = session.exitStatus();
        return exit.isPresent() && exit.getAsInt() != 0 ? exit.getAsInt() : 0;
    }

    private void render(SamplingSession session, Table window, Table overall) {
        SamplingStats st = session.stats();
        StringBuilder sb = new StringBuilder("\033[H\033[2J");
        sb.append(String.format(Locale.ROOT, "spyglass top: process %d%s, Python %s, %s, %,d samples, %,.0f ticks/s%s%n%n",
                session.pid(), children.children ? " and " + (session.processes().size() - 1) + " child process(es)"
                        : "", session.version(), Durations.format(st.elapsed()), st.samples(), st.achievedRate(),
                st.fellBehind() ? String.format(Locale.ROOT, " of %,.0f/s (BEHIND: %,d ticks skipped)",
                        st.requestedRate(), st.skippedTicks()) : ""));
        sb.append(String.format(Locale.ROOT, "%7s %7s %9s %9s %7s  %s%n", "%Own", "%Total", "Own", "Total", "%NoGIL",
                "Function (file, or library for native code)"));
        for (Map.Entry<String, long[]> e : window.hottest(rows)) {
            long[] all = overall.counts.getOrDefault(e.getKey(), new long[4]);
            long[] w = e.getValue();
            // Of the function's own time in this window, the share its thread spent with the GIL released: a
            // Python function whose C call lets go of it (numpy, hashlib, I/O) is not Python work. "-" unknown.
            String noGil = w[2] == 0 ? "-" : String.format(Locale.ROOT, "%.1f%%", 100.0 * w[3] / w[2]);
            sb.append(String.format(Locale.ROOT, "%6.1f%% %6.1f%% %9d %9d %7s  %s%n",
                    100.0 * w[0] / Math.max(1, window.samples),
                    100.0 * w[1] / Math.max(1, window.samples), all[0], all[1], noGil, TerminalText.escape(e.getKey())));
        }
        out.print(sb);
        out.flush();
    }
}
