package dev.spyglass.export;

/**
 * What a {@link PushSink} did with the samples it was given. Once the sink is closed,
 * {@code samples == samplesSent + samplesDropped}; before, the difference is in the current window or queued.
 *
 * @param samples         samples kept (with frames; idle ones only when kept)
 * @param samplesSent     samples in windows the receiver accepted (HTTP 2xx)
 * @param samplesDropped  samples lost, each counted once: in windows dropped because the queue was full or the
 *                        sink closed before they could be delivered, in windows the receiver refused (HTTP 4xx
 *                        other than 408 and 429), or beyond a window's size limit
 * @param windowsSent     requests the receiver accepted
 * @param windowsDropped  windows dropped (queue full, refused, or undelivered at close)
 * @param failedAttempts  requests that failed, each retried or, when refused, dropped
 * @param lastError       the latest failure ({@code HTTP 503 from host:port}, {@code cannot connect to host:port}),
 *                        or empty
 */
public record PushStats(long samples, long samplesSent, long samplesDropped, long windowsSent, long windowsDropped,
        long failedAttempts, String lastError) {

    /** Samples neither sent nor dropped yet: in the current window or waiting in the queue. */
    public long samplesPending() {
        return samples - samplesSent - samplesDropped;
    }
}
