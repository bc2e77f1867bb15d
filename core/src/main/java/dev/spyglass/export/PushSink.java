package dev.spyglass.export;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.SampleSink;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadState;
import dev.spyglass.internal.push.Destination;
import dev.spyglass.internal.push.OtlpWindow;
import dev.spyglass.internal.push.PushSender;
import dev.spyglass.internal.push.PushWindow;
import dev.spyglass.internal.push.PyroscopeWindow;

/**
 * Pushes samples to a fleet profiler every {@link Builder#interval interval}: an OpenTelemetry Collector (or any
 * receiver of OTLP profiles over HTTP) or Grafana Pyroscope's ingest API. See {@link Format} for what is sent.
 *
 * <p>{@link #accept} only adds the sample to the current window, under a short lock: it never waits for the
 * network. Every interval a daemon thread closes the window, encodes it and queues it; another sends the queue in
 * order, retrying with back-off while the receiver is away. The queue holds at most
 * {@link Builder#bufferCapacity} windows; when it is full the oldest waiting one is dropped and its samples are
 * counted in {@link PushStats#samplesDropped()}, so that once the sink is closed every kept sample is either
 * delivered or counted as dropped. {@link #close()} sends the last window and waits up to
 * {@link Builder#closeTimeout} for the queue to drain.
 *
 * <pre>{@code
 * try (PushSink push = PushSink.builder(URI.create("http://collector:4318/v1development/profiles"))
 *         .serviceName("checkout").header("Authorization", "Bearer " + token).build()) {
 *     session.drainTo(push);
 * }
 * }</pre>
 */
public final class PushSink implements SampleSink {
    private static final Logger LOG = LoggerFactory.getLogger(PushSink.class);

    /** The protocol a {@link PushSink} speaks. */
    public enum Format {
        /**
         * OTLP profiles over HTTP: {@code POST} of a binary {@code ExportProfilesServiceRequest}
         * ({@code opentelemetry-proto} 1.11.0, {@code profiles/v1development}), gzip'ed unless turned off, to the
         * given address, by convention {@code http://HOST:4318/v1development/profiles}. One sample per stack and
         * thread holding each observation's timestamp and measured time in nanoseconds.
         */
        OTLP,
        /**
         * Grafana Pyroscope's ingest API: {@code POST BASE/ingest?name=SERVICE{labels}&from=&until=&format=pprof}
         * with a gzip'ed pprof profile as the body (samples/count and wall or cpu nanoseconds).
         */
        PYROSCOPE;

        /**
         * The format an address implies: {@link #OTLP} when its path ends in {@code /profiles} (as
         * {@code /v1development/profiles} does), else {@link #PYROSCOPE}.
         */
        public static Format of(URI endpoint) {
            String path = endpoint.getPath() == null ? "" : endpoint.getPath();
            return path.endsWith("/profiles") || path.endsWith("/profiles/") ? OTLP : PYROSCOPE;
        }

        /** {@code otlp} or {@code pyroscope}, case-insensitive. */
        public static Format parse(String name) {
            return switch (name.toLowerCase(Locale.ROOT)) {
                case "otlp" -> OTLP;
                case "pyroscope" -> PYROSCOPE;
                default -> throw new IllegalArgumentException("push format must be otlp or pyroscope, not '"
                        + name + "'");
            };
        }
    }

    private final Builder config;
    private final Destination destination;
    private final PushSender sender;
    private final ScheduledExecutorService cutter;
    private final Object lock = new Object();
    private PushWindow window;
    private long windowStartNanos;
    /** The earliest and latest sample times in the window: a consumer that lags hands in older samples. */
    private long windowFirstSample = Long.MAX_VALUE;
    private long windowLastSample = Long.MIN_VALUE;
    private long samples;
    private long overflowed;
    private boolean closed;

    private PushSink(Builder b) {
        this.config = b;
        this.destination = new Destination(b.endpoint, b.serviceName, b.host, b.labels, b.gzip);
        this.sender = new PushSender(b.headers, b.bufferCapacity, b.requestTimeout, b.minBackoff, b.maxBackoff,
                "spyglass-push-send");
        this.window = newWindow();
        this.windowStartNanos = nowNanos();
        ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1,
                r -> Thread.ofPlatform().daemon().name("spyglass-push-window").unstarted(r));
        executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        long every = b.interval.toNanos();
        executor.scheduleAtFixedRate(this::cutSafely, every, every, TimeUnit.NANOSECONDS);
        this.cutter = executor;
    }

    /** A builder pushing to {@code endpoint}; its format is {@link Format#of inferred} unless set. */
    public static Builder builder(URI endpoint) {
        return new Builder(endpoint);
    }

    /** The protocol this sink speaks. */
    public Format format() {
        return config.format;
    }

    /**
     * Adds the sample to the current window. Samples without frames, and idle ones unless kept, are skipped.
     *
     * @throws IllegalStateException when the sink is closed
     */
    @Override
    public void accept(StackSample sample) {
        Objects.requireNonNull(sample, "sample");
        if (sample.frames().isEmpty() || (!config.includeIdle && sample.state() == ThreadState.IDLE)) {
            return;
        }
        synchronized (lock) {
            if (closed) {
                throw new IllegalStateException("push sink is closed");
            }
            samples++;
            if (window.samples() >= config.maxWindowSamples) {
                overflowed++; // the window is full: counted as dropped rather than grown without bound
                return;
            }
            window.add(sample);
            windowFirstSample = Math.min(windowFirstSample, sample.timestampNanos());
            windowLastSample = Math.max(windowLastSample, sample.timestampNanos());
        }
    }

    /** Closes the current window now and queues it (an empty window is not sent). Does not wait. */
    public void flush() {
        cutSafely(false);
    }

    private void cutSafely() {
        cutSafely(false);
    }

    private void cutSafely(boolean last) {
        try {
            cut(last);
        } catch (RuntimeException e) {
            LOG.warn("encoding a profile to push failed", e);
        }
    }

    private void cut(boolean last) {
        PushWindow done;
        long start;
        long end = nowNanos();
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = last; // no sample may slip into a window that is never sent
            if (window.samples() == 0) {
                windowStartNanos = end;
                return;
            }
            done = window;
            // The window covers its samples' times, which may precede its opening when the consumer lags.
            start = Math.min(windowStartNanos, windowFirstSample);
            end = Math.max(end, windowLastSample + 1);
            window = newWindow();
            windowStartNanos = end;
            windowFirstSample = Long.MAX_VALUE;
            windowLastSample = Long.MIN_VALUE;
        }
        try {
            sender.offer(done.payload(config.metadata.get(), start, end));
        } catch (RuntimeException e) {
            synchronized (lock) {
                overflowed += done.samples();
            }
            throw e;
        }
    }

    private PushWindow newWindow() {
        return config.format == Format.OTLP ? new OtlpWindow(destination)
                : new PyroscopeWindow(destination, config.includeIdle);
    }

    /** What was kept, sent and dropped so far; final once {@link #close()} returned. */
    public PushStats stats() {
        PushSender.Counts c = sender.counts();
        synchronized (lock) {
            return new PushStats(samples, c.samplesSent(), c.samplesDropped() + overflowed, c.payloadsSent(),
                    c.payloadsDropped(), c.failedAttempts(), c.lastError());
        }
    }

    /**
     * Sends the last window and waits up to the {@linkplain Builder#closeTimeout close timeout} for every queued
     * window to be delivered; what is still queued then is dropped and counted. Idempotent.
     */
    @Override
    public void close() throws IOException {
        synchronized (lock) {
            if (closed) {
                return;
            }
        }
        cutter.shutdownNow();
        try {
            cutter.awaitTermination(config.closeTimeout.toMillis(), TimeUnit.MILLISECONDS);
            cutSafely(true);
            sender.close(config.closeTimeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while sending the last profiles");
        }
    }

    private static long nowNanos() {
        java.time.Instant now = java.time.Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    /** This machine's name, from the kernel (no DNS lookup); {@code localhost} when unreadable. */
    static String hostName() {
        try {
            String name = Files.readString(Path.of("/proc/sys/kernel/hostname"), StandardCharsets.UTF_8).strip();
            return name.isEmpty() ? "localhost" : name;
        } catch (IOException | RuntimeException e) {
            return "localhost";
        }
    }

    /** Builds a {@link PushSink}; every setting has a default but the address. */
    public static final class Builder {
        private URI endpoint;
        private Format format;
        private Duration interval = Duration.ofSeconds(10);
        private String serviceName = "python";
        private String host = hostName();
        private final Map<String, String> labels = new LinkedHashMap<>();
        private final Map<String, String> headers = new LinkedHashMap<>();
        private boolean gzip = true;
        private boolean includeIdle;
        private Supplier<ProfileMetadata> metadata = () -> ProfileMetadata.UNKNOWN;
        private int bufferCapacity = 16;
        private long maxWindowSamples = 2_000_000;
        private Duration requestTimeout = Duration.ofSeconds(10);
        private Duration minBackoff = Duration.ofMillis(250);
        private Duration maxBackoff = Duration.ofSeconds(10);
        private Duration closeTimeout = Duration.ofSeconds(10);

        private Builder(URI endpoint) {
            Objects.requireNonNull(endpoint, "endpoint");
            String scheme = endpoint.getScheme() == null ? "" : endpoint.getScheme().toLowerCase(Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https") || endpoint.getHost() == null) {
                throw new IllegalArgumentException("push address must be an http:// or https:// URL with a host, not '"
                        + endpoint + "'");
            }
            if (endpoint.getRawUserInfo() != null) {
                // http://user:password@host/...: HTTP basic authentication, the address sent without them.
                String user = java.net.URLDecoder.decode(endpoint.getRawUserInfo(), StandardCharsets.UTF_8);
                headers.put("Authorization",
                        "Basic " + Base64.getEncoder().encodeToString(user.getBytes(StandardCharsets.UTF_8)));
                try {
                    endpoint = new URI(endpoint.getScheme(), null, endpoint.getHost(), endpoint.getPort(),
                            endpoint.getPath(), endpoint.getQuery(), endpoint.getFragment());
                } catch (URISyntaxException e) {
                    throw new IllegalArgumentException("push address '" + endpoint + "': " + e.getMessage(), e);
                }
            }
            this.endpoint = endpoint;
            this.format = Format.of(endpoint);
        }

        /** The protocol; default {@link Format#of inferred from the address}. */
        public Builder format(Format format) {
            this.format = Objects.requireNonNull(format, "format");
            return this;
        }

        /** How often a window is sent; at least 100 ms; default 10 s. */
        public Builder interval(Duration interval) {
            if (interval.compareTo(Duration.ofMillis(100)) < 0) {
                throw new IllegalArgumentException("push interval must be at least 100ms, not " + interval);
            }
            this.interval = interval;
            return this;
        }

        /** {@code service.name} (OTLP) and the application name (Pyroscope); default {@code python}. */
        public Builder serviceName(String serviceName) {
            if (serviceName.isBlank()) {
                throw new IllegalArgumentException("service name must not be blank");
            }
            this.serviceName = serviceName;
            return this;
        }

        /** The host label ({@code host.name}, Pyroscope's {@code hostname}); default this machine's name. */
        public Builder host(String host) {
            this.host = Objects.requireNonNull(host, "host");
            return this;
        }

        /** A further label every profile carries (OTLP: a resource attribute; Pyroscope: a series label). */
        public Builder label(String name, String value) {
            labels.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(value, "value"));
            return this;
        }

        /** An HTTP header sent with every request, e.g. {@code Authorization: Bearer TOKEN}, {@code X-Scope-OrgID}. */
        public Builder header(String name, String value) {
            headers.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(value, "value"));
            return this;
        }

        /** Whether OTLP bodies are gzip'ed ({@code Content-Encoding: gzip}); default {@code true}. */
        public Builder gzip(boolean gzip) {
            this.gzip = gzip;
            return this;
        }

        /** Whether samples of idle threads are sent; default {@code false}, as in the flame graph formats. */
        public Builder includeIdle(boolean includeIdle) {
            this.includeIdle = includeIdle;
            return this;
        }

        /** The recording's metadata (pid, command, Python version, mode, interval, counts), asked per window. */
        public Builder metadata(Supplier<ProfileMetadata> metadata) {
            this.metadata = Objects.requireNonNull(metadata, "metadata");
            return this;
        }

        /** Windows waiting to be sent before the oldest is dropped; 1 or more; default 16. */
        public Builder bufferCapacity(int windows) {
            if (windows < 1) {
                throw new IllegalArgumentException("buffer capacity must be at least 1, not " + windows);
            }
            this.bufferCapacity = windows;
            return this;
        }

        /** Samples one window holds before further ones are dropped and counted; default 2,000,000. */
        public Builder maxWindowSamples(long samples) {
            if (samples < 1) {
                throw new IllegalArgumentException("max window samples must be at least 1, not " + samples);
            }
            this.maxWindowSamples = samples;
            return this;
        }

        /** Connect and request timeout of one attempt; default 10 s. */
        public Builder requestTimeout(Duration timeout) {
            this.requestTimeout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        /** The first and the longest wait between attempts; defaults 250 ms and 10 s. */
        public Builder backoff(Duration first, Duration longest) {
            if (first.isNegative() || first.isZero() || longest.compareTo(first) < 0) {
                throw new IllegalArgumentException("back-off must be positive and first <= longest");
            }
            this.minBackoff = first;
            this.maxBackoff = longest;
            return this;
        }

        /** How long {@link PushSink#close()} waits for queued windows to be delivered; default 10 s. */
        public Builder closeTimeout(Duration timeout) {
            this.closeTimeout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        /** A started sink: its threads run until {@link PushSink#close()}. */
        public PushSink build() {
            return new PushSink(this);
        }
    }
}
