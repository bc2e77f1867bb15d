package dev.spyglass.internal.push;

import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.Objects;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends payloads in order from a bounded queue on its own daemon thread, as OpenTelemetry's batch processors do:
 * the producer never waits. A payload that fails for a reason that may pass (no connection, a timeout, HTTP 408,
 * 429 or 5xx) is tried again after a back-off that doubles from {@code minBackoff} to {@code maxBackoff}; meanwhile
 * new payloads queue up, and when {@code capacity} are waiting the oldest waiting one is dropped and its samples
 * counted. A payload the receiver refuses (any other 4xx) is dropped and counted at once.
 */
public final class PushSender {
    private static final Logger LOG = LoggerFactory.getLogger(PushSender.class);

    /** Counts, consistent with each other; see {@code dev.spyglass.export.PushStats}. */
    public record Counts(long payloadsSent, long samplesSent, long payloadsDropped, long samplesDropped,
            long failedAttempts, String lastError) {
    }

    private final HttpClient client;
    private final Map<String, String> headers;
    private final int capacity;
    private final Duration requestTimeout;
    private final Duration minBackoff;
    private final Duration maxBackoff;
    private final ArrayDeque<Payload> pending = new ArrayDeque<>();
    private final Thread thread;
    private Payload inFlight;
    private boolean closing;
    private long payloadsSent;
    private long samplesSent;
    private long payloadsDropped;
    private long samplesDropped;
    private long failedAttempts;
    private String lastError = "";

    public PushSender(Map<String, String> headers, int capacity, Duration requestTimeout, Duration minBackoff,
            Duration maxBackoff, String threadName) {
        this.headers = Map.copyOf(headers);
        this.capacity = capacity;
        this.requestTimeout = Objects.requireNonNull(requestTimeout, "requestTimeout");
        this.minBackoff = minBackoff;
        this.maxBackoff = maxBackoff;
        this.client = HttpClient.newBuilder().connectTimeout(requestTimeout).version(HttpClient.Version.HTTP_1_1)
                .build();
        this.thread = Thread.ofPlatform().daemon().name(threadName).unstarted(this::run);
        thread.start();
    }

    /** Queues a payload; drops (and counts) the oldest waiting one when the queue is full. Never waits. */
    public synchronized void offer(Payload payload) {
        if (closing) {
            drop(payload);
            return;
        }
        if (pending.size() >= capacity) {
            drop(pending.pollFirst());
        }
        pending.addLast(payload);
        notifyAll();
    }

    public synchronized Counts counts() {
        return new Counts(payloadsSent, samplesSent, payloadsDropped, samplesDropped, failedAttempts, lastError);
    }

    /**
     * Waits up to {@code timeout} for every queued payload to be delivered, then stops: what is still queued or
     * being tried is dropped and counted.
     */
    public void close(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (this) {
            while ((!pending.isEmpty() || inFlight != null) && System.nanoTime() < deadline) {
                wait(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
            }
            closing = true;
            notifyAll();
        }
        thread.interrupt();
        thread.join(requestTimeout.toMillis() + 1000);
        client.shutdownNow();
        synchronized (this) {
            if (inFlight != null) {
                drop(inFlight);
                inFlight = null;
            }
            while (!pending.isEmpty()) {
                drop(pending.pollFirst());
            }
        }
    }

    private void drop(Payload p) {
        payloadsDropped++;
        samplesDropped += p.samples();
    }

    private void run() {
        try {
            while (true) {
                Payload p;
                synchronized (this) {
                    while (pending.isEmpty() && !closing) {
                        wait();
                    }
                    if (closing) {
                        return;
                    }
                    p = pending.pollFirst();
                    inFlight = p;
                }
                deliver(p);
            }
        } catch (InterruptedException e) {
            // closing
        }
    }

    /** Tries {@code p} until it is delivered, refused, or the sender closes (then {@link #close} counts it). */
    private void deliver(Payload p) throws InterruptedException {
        long backoff = minBackoff.toMillis();
        while (true) {
            String failure;
            boolean retry;
            try {
                HttpRequest.Builder request = HttpRequest.newBuilder(p.uri()).timeout(requestTimeout)
                        .POST(HttpRequest.BodyPublishers.ofByteArray(p.body()));
                p.headers().forEach(request::header);
                headers.forEach(request::header);
                HttpResponse<String> response = client.send(request.build(), HttpResponse.BodyHandlers.ofString());
                int status = response.statusCode();
                if (status / 100 == 2) {
                    finished(p, true, "");
                    return;
                }
                failure = "HTTP " + status + " from " + p.uri().getHost() + ":" + p.uri().getPort()
                        + (response.body().isBlank() ? "" : ": " + abbreviate(response.body().strip()));
                retry = status == 408 || status == 429 || status / 100 == 5;
            } catch (ConnectException e) {
                failure = "cannot connect to " + p.uri().getHost() + ":" + p.uri().getPort();
                retry = true;
            } catch (IOException e) {
                failure = e.getClass().getSimpleName() + ": " + e.getMessage();
                retry = true;
            }
            synchronized (this) {
                failedAttempts++;
                if (!failure.equals(lastError)) {
                    LOG.warn("pushing a profile failed{}: {}", retry ? " (will retry)" : "", failure);
                }
                lastError = failure;
            }
            if (!retry) {
                finished(p, false, failure);
                return;
            }
            Thread.sleep(backoff);
            backoff = Math.min(maxBackoff.toMillis(), backoff * 2);
        }
    }

    private synchronized void finished(Payload p, boolean sent, String failure) {
        if (inFlight != p) {
            return; // close() gave up on it and counted it dropped already
        }
        if (sent) {
            payloadsSent++;
            samplesSent += p.samples();
        } else {
            drop(p);
        }
        inFlight = null;
        notifyAll();
    }

    private static String abbreviate(String s) {
        return s.length() > 200 ? s.substring(0, 200) + "..." : s;
    }
}
