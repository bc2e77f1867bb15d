package dev.spyglass.examples;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.spyglass.ProcessGoneException;
import dev.spyglass.Sampler;
import dev.spyglass.SamplingMode;
import dev.spyglass.SamplingSession;
import dev.spyglass.SamplingStats;
import dev.spyglass.SpyglassException;
import dev.spyglass.export.ExportFormats;
import dev.spyglass.export.ExportOptions;
import dev.spyglass.export.ExporterProvider;
import dev.spyglass.export.ProfileMetadata;
import dev.spyglass.export.ThreadGrouping;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code spyglass record}: samples a process into a profile file. */
@Command(name = "record", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Samples a Python process (attached by PID, or launched after --) into a profile file.",
                "Ends when the target exits, after -d, or on Ctrl-C; the file is complete in every case.",
                "An attached target that exits before -d ran out, or execs another program, ends it with status 9."})
final class RecordCommand implements Callable<Integer> {

    /** The shortest interval the library's {@link Sampler} accepts. */
    static final Duration FASTEST = Duration.ofNanos(10_000);
    /** The whole command within one core at any interval (docs/performance.md, "The highest rate"). */
    static final double CPU_LIMIT = 1.0;
    /** Under this the sampling thread looks back to back: the JVM stays on one CPU, not the target's ({@link OneCpu}). */
    static final Duration PIN_BELOW = Duration.ofNanos(100_000);

    @Option(names = {"-p", "--pid"}, paramLabel = "PID", description = "Attach to this process.")
    Long pid;

    @Option(names = {"-i", "--interval"}, paramLabel = "INTERVAL", defaultValue = "1ms",
            description = "Time between samples: 100us, 1ms, 0.5s; a bare number is microseconds "
                    + "(as in Austin); 1us = as fast as possible (10us) within one core. Default: ${DEFAULT-VALUE}.")
    String interval;

    @Option(names = {"-d", "--duration"}, paramLabel = "DURATION",
            description = "Stop after this long: 10s, 500ms, 2m; a bare number is seconds. "
                    + "Default: until the target exits or Ctrl-C.")
    String duration;

    @Option(names = "--mode", paramLabel = "wall|cpu|gil|memory|faults", defaultValue = "wall",
            description = "wall: every thread (where time goes); cpu: only threads on a CPU or waiting for one "
                    + "(state R: on a loaded machine that includes threads queued for a CPU); gil: only the thread "
                    + "holding the GIL (where Python code runs; 2.7: as cpu); memory: the change of resident memory "
                    + "(RSS) at each tick, in bytes, on the thread holding the GIL (growth, and releases under "
                    + "<memory released>; Austin's -m); faults: where resident memory grows, one sample per 64 page "
                    + "faults (256 KiB) with native frames, never stopping the target (perf events: root, "
                    + "CAP_PERFMON or kernel.perf_event_paranoid <= 1). Default: ${DEFAULT-VALUE}.")
    String mode;

    @Option(names = {"-f", "--format"}, paramLabel = "FORMAT",
            description = "html, speedscope, pprof, collapsed, austin, mojo, jsonl, gecko, chrome, sgr, or the name of an "
                    + "exporter on the class path (docs/exporters-custom.md). Default: from the -o extension (.html, "
                    + ".json, .pb.gz, .collapsed/.txt, .austin, .mojo, .jsonl, .gecko.json, .trace.json, .sgr, or an "
                    + "installed exporter's), else html.")
    String format;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE",
            description = "Output file; repeat for several formats from one recording (-o a.html -o a.jsonl), "
                    + "each format given by its file's ending. Default: spyglass-<pid>.<extension of the format>.")
    List<Path> outputs = new ArrayList<>();

    @Option(names = "--idle", description = "Keep idle threads in flame graphs (collapsed, speedscope, pprof, html).")
    boolean idle;

    @Option(names = "--threads", paramLabel = "GROUPING", converter = ThreadGroupingConverter.class,
            description = "How flame graphs (collapsed, speedscope, pprof, html) group threads: each (one root per "
                    + "thread), name (per thread name), pattern (per name with digits as *: pool workers and "
                    + "per-request threads merge; the default) or all (one root).")
    ThreadGrouping threads = ThreadGrouping.PATTERN;

    /** Reads {@code --threads} through {@link ThreadGrouping#parse}, so an error names the choices. */
    static final class ThreadGroupingConverter implements picocli.CommandLine.ITypeConverter<ThreadGrouping> {
        @Override
        public ThreadGrouping convert(String value) {
            try {
                return ThreadGrouping.parse(value);
            } catch (IllegalArgumentException e) {
                throw new picocli.CommandLine.TypeConversionException("--threads: " + e.getMessage());
            }
        }
    }

    @Mixin
    FrameOptions frames = new FrameOptions();

    @Mixin
    PushOptions push = new PushOptions();

    @Mixin
    ChildrenOption children = new ChildrenOption();

    @Option(names = "--no-lines", description = "Tell frames apart by function only, not by line.")
    boolean noLines;

    @Option(names = "--collapsed-weights",
            description = "collapsed: end lines with microseconds instead of sample counts.")
    boolean collapsedWeights;

    @Option(names = "--launch-timeout", paramLabel = "DURATION", defaultValue = "10s",
            description = "How long a launched command may take to start a CPython (shells, pyenv shims and a slow "
                    + "machine take longer). Default: ${DEFAULT-VALUE}.")
    String launchTimeout;

    @Option(names = "--keep-running", description = "Leave a launched command running when the recording ends "
            + "before it (-d). Default: end it (SIGINT, SIGTERM 2 s later, SIGKILL 2 s after that).")
    boolean keepRunning;

    @Option(names = "--format-option", paramLabel = "NAME=VALUE",
            description = "A format's own setting (repeatable), e.g. top-csv.limit=5 or html.title=Nightly.")
    Map<String, String> formatOptions = new LinkedHashMap<>();

    @Parameters(paramLabel = "COMMAND", arity = "0..*", description = "Command to launch (after --).")
    List<String> command = new ArrayList<>();

    private final PrintStream err;

    RecordCommand(PrintStream err) {
        this.err = err;
    }

    @Override
    public Integer call() {
        if ((pid == null) == command.isEmpty()) {
            err.println("spyglass record: give either -p PID or -- COMMAND ARGS...");
            return Failures.USAGE;
        }
        if (pid != null && pid <= 0) {
            err.println("spyglass record: -p must be a process id (> 0), not " + pid);
            return Failures.USAGE;
        }
        Duration every;
        Duration limit = null;
        Duration startLimit;
        SamplingMode samplingMode;
        ExportFormats formats = ExportFormats.installed();
        List<ExporterProvider> exportFormats;
        try {
            every = Durations.parse("--interval", interval, "us");
            if (duration != null) {
                limit = Durations.parse("--duration", duration, "s");
            }
            startLimit = Durations.parse("--launch-timeout", launchTimeout, "s");
            samplingMode = switch (mode.toLowerCase(Locale.ROOT)) {
                case "wall" -> SamplingMode.WALL;
                case "cpu" -> SamplingMode.CPU;
                case "gil" -> SamplingMode.GIL;
                case "memory" -> SamplingMode.MEMORY;
                case "faults" -> SamplingMode.PAGE_FAULTS;
                default -> throw new IllegalArgumentException("--mode must be wall, cpu, gil, memory or faults, not '"
                        + mode + "'");
            };
            exportFormats = outputs.isEmpty() ? List.of(chooseFormat(formats))
                    : ProfileOutputs.formats(formats, format, outputs);
        } catch (IllegalArgumentException e) {
            err.println("spyglass record: " + e.getMessage());
            return Failures.USAGE;
        }

        if (every.compareTo(FASTEST) < 0) {
            every = FASTEST; // "-i 1us": as fast as the sampler goes
        }
        String optionError = frames.usageError() != null ? frames.usageError() : push.usageError();
        if (optionError != null) {
            err.println("spyglass record: " + optionError);
            return Failures.USAGE;
        }
        Sampler sampler;
        try {
            Sampler.Builder builder = frames.configure(Sampler.builder().interval(every).mode(samplingMode)
                    .launchTimeout(startLimit).followChildren(children.children).cpuLimit(CPU_LIMIT), err);
            if (limit != null) {
                builder.duration(limit);
            }
            sampler = builder.build();
        } catch (IllegalArgumentException e) {
            err.println("spyglass record: " + e.getMessage());
            return Failures.USAGE;
        }
        // Before the target is attached or launched: a launched target must not be started for nothing.
        String unwritable = ProfileOutputs.unwritable(outputs);
        if (unwritable != null) {
            err.println("spyglass: " + unwritable);
            return Failures.OTHER;
        }
        Instant started = Instant.now();
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
        } catch (ProcessGoneException e) {
            if (pid != null || e.exitStatus().isEmpty()) {
                return Failures.report(e, err);
            }
            // A launched target that ended before it could be sampled: the user still gets the file asked for.
            return endedBeforeFirstSample(e, exportFormats, samplingMode, every, started);
        } catch (SpyglassException | RuntimeException e) {
            return Failures.report(e, err);
        }
        if (every.compareTo(PIN_BELOW) < 0) {
            OneCpu.pinAwayFrom(session.pid());
        }
        List<Path> paths = outputPaths(session.pid(), exportFormats);
        Path out = paths.get(0);
        String versionText = session.version().toString();
        frames.sayWhatIsRefused(session.version(), err);
        List<String> targetCommand = pid != null ? ProcessCommandLine.of(pid) : command;
        ProfileMetadata base = ProfileMetadata.builder().command(targetCommand).pid(session.pid())
                .pythonVersion(versionText).mode(samplingMode.name().toLowerCase(Locale.ROOT)).interval(every)
                .container(session.container().orElse(""))
                .startEpochNanos(started.getEpochSecond() * 1_000_000_000L + started.getNano()).build();
        // Asked for again when the file is finished, so the summary carries the final counts.
        java.util.function.Supplier<ProfileMetadata> metadata = () -> {
            SamplingStats s = session.stats();
            return base.toBuilder().duration(s.elapsed()).samples(s.samples()).tornSamples(s.tornSamples())
                    .droppedSamples(s.droppedSamples()).achievedRate(s.achievedRate()).build();
        };

        // Written beside the target and renamed over it once complete: a previous profile stays whole while
        // recording, and a killed CLI never leaves a truncated or empty file under the name the user gave.
        ProfileOutputs files;
        try {
            files = ProfileOutputs.open(paths, exportFormats, exportOptions(metadata));
        } catch (IOException e) {
            abandon(session);
            err.println("spyglass: " + e.getMessage());
            return Failures.OTHER;
        } catch (IllegalArgumentException e) {
            // A format's own option with a value it refuses: known only once the format builds its exporter.
            abandon(session);
            err.println("spyglass record: " + e.getMessage());
            return Failures.USAGE;
        }

        PushOptions.Pushing pushing = push.enabled() ? push.start(targetCommand, metadata, idle || frames.kernelFrames)
                : null;
        CountDownLatch written = new CountDownLatch(1);
        AtomicBoolean interrupted = new AtomicBoolean();
        Thread hook = new Thread(() -> {
            // Ctrl-C: stop sampling and let the main thread finish the file before the JVM exits.
            interrupted.set(true);
            session.stop();
            try {
                written.await(20, TimeUnit.SECONDS);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
            // The main thread did not finish in time (or failed): no half-written file stays behind.
            files.discard();
        }, "spyglass-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);

        err.println("spyglass: recording process " + session.pid() + " (Python " + versionText + ")"
                + (children.children ? " and its child processes" : "") + " every "
                + Durations.format(every) + (limit != null ? " for " + Durations.format(limit) : "")
                + (pid != null ? "; Ctrl-C to stop" : ""));
        // The status line starts after the header: started first, it was drawn before the header once (suite with
        // two CPU hogs: the main thread took over the status thread's first 250 ms to print it), and the stale text
        // stayed in front of the header on its line, where the final erase of the current line cannot reach it.
        LiveStatus status = LiveStatus.startIfTerminal(err, session, out);
        int result = 0;
        boolean complete = true;
        LaunchedCommand ending = null;
        try {
            session.drainTo(pushing != null ? pushing.after(files) : files);
        } catch (IOException | RuntimeException e) {
            result = Failures.report(e, err);
        } finally {
            status.stop();
            session.stop();
            try {
                session.awaitTermination(Duration.ofSeconds(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (pid == null && !keepRunning && LaunchedCommand.isRunning(session.pid())) {
                // The recording ended before the Python it sampled (-d, Ctrl-C, a failure): end what we launched
                // while the file is written, rather than leave it running on alone.
                ending = LaunchedCommand.begin(session.process().orElseThrow(), interrupted.get(), err);
            }
            if (!files.finish(err)) {
                result = Failures.OTHER;
                complete = false;
            }
            session.close();
            if (pushing != null) {
                pushing.close(err, "spyglass: ");
            }
            if (ending != null) {
                ending.finish();
            }
        }
        SamplingStats s = session.stats();
        if (session.failure().isPresent() && result == 0) {
            result = Failures.report(session.failure().get(), err);
        }
        ProcessGoneException gone = session.processGone().orElse(null);
        // A launched target's exit is reported by its status; an attached one's, and any exec, here.
        boolean targetEnded = gone != null && !interrupted.get() && (pid != null || gone.programReplaced());
        if (targetEnded) {
            err.println(Failures.targetEnded(gone, s.elapsed(), complete
                    ? "the profile holds what was recorded" : "nothing was written"));
            // Without -d, an attached target's exit is the end the user asked for: status 0. With -d it
            // came early, and an exec is never the end asked for: the file is shorter than asked.
            if (result == 0 && (limit != null || gone.programReplaced())) {
                result = Failures.TARGET_ENDED;
            }
        }
        err.printf(Locale.ROOT, "spyglass: %,d samples in %s (%,.0f ticks/s achieved, torn %.2f%%%s, dropped %,d)%s%s%n",
                s.samples(), Durations.format(s.elapsed()), s.achievedRate(),
                s.samples() + s.tornSamples() == 0 ? 0.0 : 100.0 * s.tornSamples() / (s.samples() + s.tornSamples()),
                LiveStatus.retryNote(s), s.droppedSamples(), interrupted.get() ? " (interrupted)" : "",
                LiveStatus.behindWarning(s));
        children.printSummary(session, err);
        NativeEngineOption.costLines(s).forEach(err::println);
        files.reportWritten(err, "");
        written.countDown();
        if (pid == null && ending == null && !interrupted.get() && !LaunchedCommand.isRunning(session.pid())) {
            // The sampled Python ended and the command goes on (sh -c "python3 app.py; ..."): it is the user's to run.
            awaitCommand(session.process().orElseThrow());
        }
        OptionalInt exit = session.exitStatus();
        if (result == 0 && !targetEnded && exit.isPresent() && exit.getAsInt() != 0 && !interrupted.get()
                && ending == null) {
            err.println("spyglass: the target exited with status " + exit.getAsInt());
            result = exit.getAsInt();
        }
        if (result == 0 && s.samples() == 0) {
            err.println("spyglass: no samples recorded: " + (s.tornSamples() > 0
                    ? String.format(Locale.ROOT, "all %,d samples were torn (the target changed while each was read)",
                            s.tornSamples())
                    : exit.isPresent() && ending == null ? "the target ended (exit status " + exit.getAsInt()
                            + ") before the first sample" : "the recording ended before the first sample"));
            result = Failures.NO_SAMPLES;
        }
        if (!interrupted.get()) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException ignored) {
                // already shutting down
            }
        }
        return result;
    }

    private static void awaitCommand(Process command) {
        try {
            command.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Writes the empty profile of a launched target that ended before sampling began; its exit status or 8. */
    private int endedBeforeFirstSample(ProcessGoneException gone, List<ExporterProvider> exportFormats,
            SamplingMode samplingMode, Duration every, Instant started) {
        List<Path> paths = outputPaths(gone.pid(), exportFormats);
        ProfileMetadata empty = ProfileMetadata.builder().command(command).pid(gone.pid())
                .mode(samplingMode.name().toLowerCase(Locale.ROOT)).interval(every)
                .startEpochNanos(started.getEpochSecond() * 1_000_000_000L + started.getNano())
                .duration(Duration.between(started, Instant.now())).build();
        int status = gone.exitStatus().getAsInt();
        err.println("spyglass: no samples recorded: the target ended (exit status " + status
                + ") before the first sample");
        try {
            ProfileOutputs files = ProfileOutputs.open(paths, exportFormats, exportOptions(() -> empty));
            boolean all = files.finish(err);
            files.reportWritten(err, "an empty ");
            if (!all) {
                return Failures.OTHER;
            }
        } catch (IOException e) {
            err.println("spyglass: " + e.getMessage());
            return Failures.OTHER;
        }
        // A failing target's own status, as for a recording that ran (docs/cli.md), else "no samples".
        return status != 0 ? status : Failures.NO_SAMPLES;
    }

    /** The format without {@code -o}: {@code -f}'s, else html. */
    private ExporterProvider chooseFormat(ExportFormats formats) {
        if (format != null) {
            return formats.byName(format).orElseThrow(() -> new IllegalArgumentException(
                    "unknown format '" + format + "' (" + String.join(", ", formats.names()) + ")"));
        }
        return formats.byName("html").orElseThrow();
    }

    /** The files asked for with {@code -o}, else {@code spyglass-<pid>.<ending>}. */
    private List<Path> outputPaths(long targetPid, List<ExporterProvider> exportFormats) {
        return !outputs.isEmpty() ? outputs
                : List.of(Path.of("spyglass-" + targetPid + defaultEnding(exportFormats.get(0))));
    }

    /** The first ending the format claims, else its name: a user's format may claim none. */
    static String defaultEnding(ExporterProvider format) {
        return format.fileExtensions().isEmpty() ? "." + format.formatName() : format.fileExtensions().get(0);
    }

    private ExportOptions exportOptions(java.util.function.Supplier<ProfileMetadata> metadata) {
        ExportOptions.Builder options = ExportOptions.builder().metadata(metadata)
                .includeIdle(idle || frames.keepsIdle())
                .lineNumbers(!noLines).threads(threads);
        if (collapsedWeights) {
            options.property("collapsed.value", "weight");
        }
        formatOptions.forEach(options::property);
        return options.build();
    }

    /** Closes a session whose recording cannot start; a target launched for it is not left running alone. */
    private static void abandon(SamplingSession session) {
        session.close();
        session.process().ifPresent(p -> {
            p.descendants().forEach(ProcessHandle::destroyForcibly); // a Python a shell started, too
            p.destroyForcibly();
        });
    }
}
