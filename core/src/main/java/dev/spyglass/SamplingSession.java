package dev.spyglass;

import java.io.IOException;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.internal.os.ContainerId;
import dev.spyglass.internal.python.Target;
import dev.spyglass.internal.session.DescendantWatch;
import dev.spyglass.internal.session.EventSource;
import dev.spyglass.internal.session.FollowedProcess;
import dev.spyglass.internal.session.ProcessFamily;
import dev.spyglass.internal.session.PythonStackSource;
import dev.spyglass.internal.session.PythonStackSources;
import dev.spyglass.internal.session.SampleHandoff;
import dev.spyglass.internal.session.TickPacing;
import dev.spyglass.internal.session.TickSchedule;

/**
 * A running sampling of one process, started by {@link Sampler#attach} or {@link Sampler#launch}.
 * One daemon thread polls the session's event sources (today one: the target's Python stacks) at each
 * tick and puts their samples into a bounded queue; a consumer takes them with {@link #forEach},
 * {@link #stream()} or {@link #drainTo}. When the consumer is slower than the sampler, samples are
 * dropped and counted ({@link SamplingStats#droppedSamples()}): the sampler never waits for the
 * consumer, so its cadence does not depend on it.
 *
 * <p>The session ends when the target exits, when the sampler's duration has passed, or on
 * {@link #stop()}. It also ends, as for an exit, when the target's PID comes to name another process
 * or the target replaces its program ({@code exec}): the process is held by identity, checked after
 * every look, so no sample of another process or program is ever delivered ({@link #processGone()}). With
 * {@link Sampler.Builder#followChildren} it ends once the target and every child process followed have exited. Consuming methods then return after the queue is drained. Use one consumer at a
 * time. {@link #close()} stops sampling and releases resources; it never kills a launched target.
 */
public final class SamplingSession implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SamplingSession.class);

    /** Durations longer than this mean no limit. */
    private static final Duration NO_LIMIT_BEYOND = Duration.ofDays(36_525);

    private final long pid;
    private final CPythonVersion version;
    /** Polled in this order at every tick; closed together, once. */
    private final EventSource[] sources;
    private final PythonStackSource python;
    /** The target and its CPython descendants, when the session follows children; else null. */
    private final ProcessFamily family;
    private final FollowedProcess self;
    private final SessionDelivery delivery;
    private final java.util.function.BooleanSupplier stopped = () -> this.stopRequested;
    private final Process process;
    private final String container;
    private final SamplingMode mode;
    private final long intervalNanos;
    private final long durationNanos;
    private final double cpuLimit;
    private final SampleHandoff queue;
    private final CountDownLatch done = new CountDownLatch(1);
    private final Thread worker;

    private volatile boolean stopRequested;
    private volatile boolean finished;
    private volatile Throwable failure;
    private volatile ProcessGoneException gone;
    private volatile long ticks;
    /** Made by the sampling thread when it starts; null until then. */
    private volatile TickSchedule schedule;
    private volatile long startNanos;
    private volatile long endNanos;
    private boolean closed;
    /** Set by {@link #close()}: the sampling thread releases the sources when it ends, if close() could not. */
    private volatile boolean closeRequested;
    private final AtomicBoolean sourcesClosed = new AtomicBoolean();

    private SamplingSession(Sampler config, Target target, Process process, long treeRoot, PythonStackSource python) {
        this.pid = target.pid();
        this.version = target.version();
        this.container = ContainerId.of(pid);
        this.process = process;
        this.mode = config.mode();
        this.intervalNanos = config.interval().toNanos();
        // Beyond a century (Duration.toNanos overflows at ~292 years) a duration is no limit at all.
        this.durationNanos = config.duration().filter(d -> d.compareTo(NO_LIMIT_BEYOND) <= 0).map(Duration::toNanos)
                .orElse(Long.MAX_VALUE);
        this.cpuLimit = config.cpuLimit(); // TickSchedule's CpuCap, made by the sampling thread
        this.queue = new SampleHandoff(config.queueCapacity());
        this.python = python;
        this.self = FollowedProcess.of(pid, version);
        // Following children: the tree of a launched command (its shell too), else of the process attached to.
        this.family = !config.followChildren() ? null : new ProcessFamily(python, self, new DescendantWatch(
                treeRoot, target, self), t -> PythonStackSources.open(config, t));
        this.sources = new EventSource[] {family != null ? family : python};
        this.delivery = new SessionDelivery(queue, family == null ? self : null);
        this.worker = new Thread(this::run, "spyglass-sampler-" + pid);
        worker.setDaemon(true);
    }

    /** Intervals shorter than this (1 ms) get {@link #FAST_WARM_UP_NANOS} of looks before an attached clock starts. */
    static final long FAST_INTERVAL_NANOS = 1_000_000L;
    /** How long the read path is run before the clock at fast intervals: 1 s. */
    static final long FAST_WARM_UP_NANOS = 1_000_000_000L;

    /**
     * Starts sampling {@code target} ({@code treeRoot}: whose descendants are followed, with children); when that
     * fails, closes the target (and kills a launched process).
     */
    static SamplingSession start(Sampler config, Target target, Process process, long treeRoot)
            throws SpyglassException {
        try {
            SamplingSession s = new SamplingSession(config, target, process, treeRoot,
                    PythonStackSources.open(config, target));
            TickPacing.prepare();
            // The JVM's one-time costs of a first look, paid before the clock starts (PythonStackSource#warmUp).
            long warm = System.nanoTime();
            boolean warmed = s.python.warmUp(s.mode);
            int looks = warmed ? 1 : 0;
            // Under 1 ms, an attached target's read path is run for a second before the clock, so the compilers
            // have made it fast by the first tick: at 10 kHz on a quiet 2-core machine a cold JVM lost 4,000 -
            // 5,000 ticks in its first second; with the second of looks first, 95.5 - 96.1% of 10 kHz were taken,
            // 91.5 - 92.8% without (docs/performance.md). Not for a launched command: its start would go unsampled.
            while (warmed && process == null && s.intervalNanos < FAST_INTERVAL_NANOS
                    && System.nanoTime() - warm < FAST_WARM_UP_NANOS) {
                warmed = s.python.warmUp(s.mode);
                looks++;
            }
            LOG.debug("process {}: {} looks before sampling in {} µs", s.pid, looks,
                    (System.nanoTime() - warm) / 1000);
            s.startNanos = System.nanoTime();
            s.worker.start();
            return s;
        } catch (SpyglassException | RuntimeException | Error e) {
            target.close();
            if (process != null) {
                process.destroyForcibly();
            }
            throw e;
        }
    }

    /**
     * The processes sampled, in the order they were found: the target first, then with
     * {@link Sampler.Builder#followChildren} each CPython process among its descendants (at most 1,024 listed),
     * with its sample count so far.
     */
    public java.util.List<SampledProcess> processes() {
        return family == null ? java.util.List.of(self.snapshot())
                : family.processes().stream().map(FollowedProcess::snapshot).toList();
    }

    /** What following child processes came across; {@link ChildProcessCounts#NONE} without it. */
    public ChildProcessCounts childProcesses() {
        return family == null ? ChildProcessCounts.NONE : family.watch().counts();
    }

    /** The target's process id. */
    public long pid() {
        return pid;
    }

    /** The target's CPython version. */
    public CPythonVersion version() {
        return version;
    }

    /** The short id of the target's container, empty when in none; see {@link PythonProcess#container()}. */
    public Optional<String> container() {
        return container.isEmpty() ? Optional.empty() : Optional.of(container);
    }

    /** The launched process, or empty for an attached target. */
    public Optional<Process> process() {
        return Optional.ofNullable(process);
    }

    /**
     * Gives every sample to {@code action}, in order, on the calling thread; returns when the session
     * has ended and the queue is empty, or when the calling thread is interrupted (the interrupt flag
     * is then set again).
     */
    public void forEach(Consumer<StackSample> action) {
        Objects.requireNonNull(action, "action");
        try {
            StackSample s;
            while ((s = next()) != null) {
                action.accept(s);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * The samples as a sequential stream that ends when the session ends. Closing the stream stops
     * the session.
     */
    public Stream<StackSample> stream() {
        Spliterator<StackSample> sp = new Spliterators.AbstractSpliterator<>(Long.MAX_VALUE,
                Spliterator.ORDERED | Spliterator.NONNULL) {
            @Override
            public boolean tryAdvance(Consumer<? super StackSample> action) {
                try {
                    StackSample s = next();
                    if (s == null) {
                        return false;
                    }
                    action.accept(s);
                    return true;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        };
        return StreamSupport.stream(sp, false).onClose(this::stop);
    }

    /**
     * Gives every sample to {@code sink} until the session ends. Does not close the sink.
     *
     * @throws IOException when the calling thread is interrupted while waiting (as
     *                     {@link java.io.InterruptedIOException}, with the interrupt flag set again)
     */
    public void drainTo(SampleSink sink) throws IOException {
        Objects.requireNonNull(sink, "sink");
        try {
            StackSample s;
            while ((s = next()) != null) {
                sink.accept(s);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while draining samples of process " + pid());
        }
    }

    private StackSample next() throws InterruptedException {
        return queue.next();
    }

    /** Asks the sampler to stop after the current tick; returns at once. */
    public void stop() {
        stopRequested = true;
        LockSupport.unpark(worker);
    }

    /**
     * Waits until sampling has ended.
     *
     * @return {@code true} when it has ended, {@code false} when {@code timeout} passed first
     */
    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        Objects.requireNonNull(timeout, "timeout");
        return done.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** {@code true} once sampling has ended (samples may still be queued). */
    public boolean isFinished() {
        return finished;
    }

    /** asyncio task trees dropped as torn ({@link Sampler.Builder#asyncTasks}); their threads' samples were kept. */
    public long tornTaskTrees() {
        return python.tornTaskTrees();
    }

    private SamplingStats.TornReads tornReads() {
        return delivery.tornReads();
    }

    /**
     * The counters so far (final once the session has ended). The first call after the session has ended may take
     * ~0.2 - 0.5 s more, once per JVM: it calibrates what a perf sample costs the target
     * ({@link SamplingStats#perfCosts()}), for sessions with the non-stop native engine or kernel frames.
     */
    public SamplingStats stats() {
        long end = finished ? endNanos : System.nanoTime();
        long elapsed = Math.max(0, end - startNanos);
        long t = ticks;
        double rate = elapsed > 0 ? t * 1e9 / elapsed : 0;
        // Ticks planned at 0, interval, 2 * interval... within elapsed, less the one at 0: the tick in
        // progress (or the one the duration ended before) is not a skipped one.
        long skipped = Math.max(0, elapsed / intervalNanos - t);
        return new SamplingStats(delivery.samples, delivery.torn, delivery.dropped, t, Duration.ofNanos(elapsed),
                rate, Duration.ofNanos(behind()), skipped, Duration.ofNanos(intervalNanos),
                PythonStackSources.threadStops(python), PythonStackSources.nativeSnapshots(python),
                tornReads(), PythonStackSources.perfCosts(python, finished));
    }

    private long behind() {
        TickSchedule s = schedule;
        return s == null ? 0 : s.behindNanos();
    }

    /** The exit status of a launched target once it has exited; empty otherwise (also for attached targets). */
    public OptionalInt exitStatus() {
        if (process != null && !process.isAlive()) {
            return OptionalInt.of(process.exitValue());
        }
        return OptionalInt.empty();
    }

    /**
     * Why sampling ended early, if it did: anything but the target's exit, the duration or
     * {@link #stop()} (for example a {@link SpyglassException} the reader could not recover from).
     */
    public Optional<Throwable> failure() {
        return Optional.ofNullable(failure);
    }

    /**
     * How the target ended the session, if it did: it exited (also when its PID now names another
     * process), or it replaced its program with {@code exec} ({@link ProcessGoneException#programReplaced()});
     * the message says which, naming the PID. Empty while sampling, and when the session ended for its
     * duration, {@link #stop()} or a {@link #failure()}.
     */
    public Optional<ProcessGoneException> processGone() {
        return finished ? Optional.ofNullable(gone) : Optional.empty();
    }

    /** Stops sampling, waits for the sampling thread (up to 5 s) and releases buffers and descriptors. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        closeRequested = true;
        stop();
        try {
            if (!done.await(5, TimeUnit.SECONDS)) {
                // The sampling thread releases the sources itself when it ends (see run()).
                LOG.warn("sampler of process {} did not stop within 5 s; it releases its buffers when it ends", pid());
                return;
            }
        } catch (InterruptedException e) {
            // Interrupted while waiting: the sampling thread releases the sources when it ends.
            Thread.currentThread().interrupt();
            if (finished) {
                closeSources();
            }
            return;
        }
        closeSources();
    }

    /** Releases the sources' buffers and descriptors, once, from whichever thread gets here first. */
    private void closeSources() {
        if (sourcesClosed.compareAndSet(false, true)) {
            for (EventSource source : sources) {
                source.close();
            }
        }
    }

    // ---- sampling thread ----

    private void run() {
        boolean gone = false;
        long epochOffset = System.currentTimeMillis() * 1_000_000L - System.nanoTime();
        TickSchedule ticksAt = new TickSchedule(startNanos, intervalNanos, durationNanos, cpuLimit, stopped);
        schedule = ticksAt;
        try {
            for (long now = ticksAt.awaitNext(); now >= 0; now = ticksAt.awaitNext()) {
                tick(now + epochOffset);
                ticks++;
                ticksAt.tickDone(now);
            }
        } catch (ProcessGoneException e) {
            gone = true;
            this.gone = e;
            LOG.debug("process {} ended: {}", pid(), e.getMessage());
        } catch (SpyglassException | RuntimeException | Error e) {
            failure = e;
            LOG.warn("sampling process {} failed: {}", pid(), e.toString());
        } finally {
            // Sampling time ends here, before any wait for a launched process to exit.
            endNanos = System.nanoTime();
            if (LOG.isDebugEnabled()) {
                LOG.debug("process {}, every {} µs: {}", pid(), intervalNanos / 1000, ticksAt.summary());
            }
            if (family != null) {
                family.watch().stop(); // no more attaches for a session that samples no more
            }
            if (process != null && (gone || !process.isAlive())) {
                // The target ended: wait (briefly) for its exit status. A target still running after
                // the duration or stop() is left running.
                awaitExit();
            }
            finished = true;
            queue.end();
            if (closeRequested) {
                closeSources();
            }
            done.countDown();
        }
    }

    private void awaitExit() {
        try {
            process.waitFor(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void tick(long timestamp) throws SpyglassException {
        for (EventSource source : sources) {
            source.poll(timestamp, mode, delivery);
        }
    }

    @Override
    public String toString() {
        return "SamplingSession[pid=" + pid() + ", " + version() + ", " + stats() + "]";
    }
}
