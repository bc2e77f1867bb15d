package dev.spyglass.examples;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import java.util.stream.Stream;

import dev.spyglass.InterpreterNotReadyException;
import dev.spyglass.ProcessGoneException;
import dev.spyglass.Sampler;
import dev.spyglass.SamplingMode;
import dev.spyglass.SamplingSession;
import dev.spyglass.SamplingStats;
import dev.spyglass.SpyglassException;
import dev.spyglass.export.ProfileMetadata;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code spyglass agent}: keeps sampling processes (given by PID, or every process whose command line matches) and
 * pushes their profiles to a fleet profiler until SIGINT or SIGTERM; new matching processes are attached as they
 * appear, ended ones let go.
 */
@Command(name = "agent", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Samples Python processes continuously and pushes their profiles every --every to an "
                + "OpenTelemetry Collector (OTLP) or Pyroscope.",
                "Runs until SIGINT/SIGTERM, sending the last profiles before it exits; with -p only, also when "
                        + "every given process has ended."})
final class AgentCommand implements java.util.concurrent.Callable<Integer> {

    @Option(names = {"-p", "--pid"}, paramLabel = "PID", description = "A process to sample (repeatable).")
    List<Long> pids = new ArrayList<>();

    @Option(names = "--match", paramLabel = "REGEX",
            description = "Sample every process whose command line (arguments joined by spaces) matches, "
                    + "e.g. 'gunicorn|celery'; looked for every --rescan.")
    String match;

    @Option(names = "--rescan", paramLabel = "DURATION", defaultValue = "2s",
            description = "How often --match looks for new processes. Default: ${DEFAULT-VALUE}.")
    String rescan;

    @Option(names = {"-i", "--interval"}, paramLabel = "INTERVAL", defaultValue = "10ms",
            description = "Time between samples (a bare number is microseconds). Default: ${DEFAULT-VALUE} "
                    + "(100 Hz, as Pyroscope's agents sample).")
    String interval;

    @Option(names = "--mode", paramLabel = "wall|cpu|gil", defaultValue = "wall",
            description = "wall, cpu or gil, as for record. Default: ${DEFAULT-VALUE}.")
    String mode;

    @Option(names = "--idle", description = "Send samples of idle threads too.")
    boolean idle;

    @Mixin
    PushOptions push = new PushOptions();

    private final PrintStream err;

    AgentCommand(PrintStream err) {
        this.err = err;
    }

    /** One sampled process: its session, the push of its samples and the thread draining one into the other. */
    private record Target(SamplingSession session, PushOptions.Pushing pushing, Thread drain) {
    }

    @Override
    public Integer call() throws Exception {
        if (pids.isEmpty() == (match == null)) {
            err.println("spyglass agent: give -p PID (repeatable) or --match REGEX");
            return Failures.USAGE;
        }
        if (!push.enabled()) {
            err.println("spyglass agent: --push URL is required (an OTLP profiles endpoint or a Pyroscope server)");
            return Failures.USAGE;
        }
        Pattern pattern;
        Duration every;
        Duration scan;
        Sampler sampler;
        String optionError = push.usageError();
        if (optionError != null) {
            err.println("spyglass agent: " + optionError);
            return Failures.USAGE;
        }
        try {
            pattern = match != null ? Pattern.compile(match) : null;
            every = Durations.parse("--interval", interval, "us");
            scan = Durations.parse("--rescan", rescan, "s");
            SamplingMode samplingMode = SamplingMode.valueOf(mode.toUpperCase(Locale.ROOT));
            sampler = Sampler.builder().interval(every).mode(samplingMode).build();
        } catch (PatternSyntaxException e) {
            err.println("spyglass agent: --match: " + e.getDescription());
            return Failures.USAGE;
        } catch (IllegalArgumentException e) {
            err.println("spyglass agent: " + e.getMessage());
            return Failures.USAGE;
        }

        CountDownLatch stopped = new CountDownLatch(1);
        CountDownLatch finished = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            // SIGINT/SIGTERM: stop looking, and wait for the main thread to send the last profiles.
            stopped.countDown();
            try {
                finished.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "spyglass-agent-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        err.println("spyglass agent: pushing to " + push.url + " every " + push.interval + "; "
                + (pattern != null ? "sampling processes matching '" + match + "'" : "sampling " + pids)
                + "; SIGINT/SIGTERM to stop");

        Map<Long, Target> targets = new LinkedHashMap<>();
        Set<Long> refused = new HashSet<>(); // attached once and failed for good: not tried again
        Set<Long> ours = ownProcesses();
        boolean attachedAny = false;
        try {
            do {
                for (long pid : pattern != null ? matching(pattern, ours) : pids) {
                    if (targets.containsKey(pid) || refused.contains(pid)) {
                        continue;
                    }
                    Target t = attach(sampler, pid, refused, pattern == null);
                    if (t != null) {
                        targets.put(pid, t);
                        attachedAny = true;
                    }
                }
                targets.entrySet().removeIf(e -> {
                    if (e.getValue().session().isFinished() && !e.getValue().drain().isAlive()) {
                        finish(e.getKey(), e.getValue(), "ended");
                        return true;
                    }
                    return false;
                });
                if (pattern == null && targets.isEmpty() && (attachedAny || refused.containsAll(pids))) {
                    break; // every given process ended (or could not be sampled)
                }
            } while (!stopped.await(scan.toMillis(), TimeUnit.MILLISECONDS));
        } finally {
            for (Target t : targets.values()) {
                t.session().stop();
            }
            for (Map.Entry<Long, Target> e : targets.entrySet()) {
                e.getValue().drain().join(5000);
                finish(e.getKey(), e.getValue(), "stopped");
            }
            finished.countDown();
        }
        if (stopped.getCount() == 1) {
            Runtime.getRuntime().removeShutdownHook(hook);
        }
        return pattern == null && !attachedAny ? Failures.NOT_PYTHON : 0;
    }

    private Target attach(Sampler sampler, long pid, Set<Long> refused, boolean byPid) {
        SamplingSession session;
        try {
            session = sampler.attach(pid);
        } catch (InterpreterNotReadyException e) {
            return null; // still starting: tried again at the next scan
        } catch (ProcessGoneException e) {
            refused.add(pid);
            if (byPid) {
                err.println("spyglass agent: process " + pid + ": " + e.getMessage());
            }
            return null;
        } catch (SpyglassException | RuntimeException e) {
            refused.add(pid);
            if (byPid || !(e instanceof dev.spyglass.NotAPythonProcessException)) {
                err.println("spyglass agent: process " + pid + ": " + e.getMessage());
            }
            return null;
        }
        List<String> command = ProcessCommandLine.of(pid);
        ProfileMetadata base = ProfileMetadata.builder().command(command).pid(pid)
                .pythonVersion(session.version().toString()).mode(mode.toLowerCase(Locale.ROOT))
                .interval(sampler.interval()).build();
        PushOptions.Pushing pushing = push.start(command, () -> {
            SamplingStats s = session.stats();
            return base.toBuilder().duration(s.elapsed()).samples(s.samples()).tornSamples(s.tornSamples())
                    .droppedSamples(s.droppedSamples()).achievedRate(s.achievedRate()).build();
        }, idle);
        Thread drain = Thread.ofPlatform().name("spyglass-agent-" + pid).start(() -> {
            try {
                session.drainTo(pushing.sink());
            } catch (IOException e) {
                // interrupted: the agent is stopping
            }
        });
        err.println("spyglass agent: sampling process " + pid + " (Python " + session.version() + ", service "
                + push.serviceNameFor(command) + "): " + String.join(" ", command));
        return new Target(session, pushing, drain);
    }

    private void finish(long pid, Target t, String how) {
        t.session().close();
        t.pushing().close(err, "spyglass agent: process " + pid + " " + how + ": ");
    }

    /** This process and its ancestors: their command lines hold the --match pattern itself. */
    private static Set<Long> ownProcesses() {
        Set<Long> own = new HashSet<>();
        ProcessHandle p = ProcessHandle.current();
        while (p != null) {
            own.add(p.pid());
            p = p.parent().orElse(null);
        }
        return own;
    }

    /** Processes whose command line matches, in PID order; ours and unreadable ones left out. */
    private static List<Long> matching(Pattern pattern, Set<Long> ours) {
        List<Long> found = new ArrayList<>();
        try (Stream<Path> entries = Files.list(Path.of("/proc"))) {
            entries.map(p -> p.getFileName().toString()).filter(n -> n.chars().allMatch(Character::isDigit))
                    .map(Long::parseLong).filter(pid -> !ours.contains(pid)).sorted().forEach(pid -> {
                        List<String> command = ProcessCommandLine.of(pid);
                        if (!command.isEmpty() && pattern.matcher(String.join(" ", command)).find()) {
                            found.add(pid);
                        }
                    });
        } catch (IOException e) {
            // /proc unreadable: nothing found this time
        }
        return found;
    }
}
