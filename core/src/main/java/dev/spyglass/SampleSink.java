package dev.spyglass;

/**
 * Receives samples. Exporters implement it; so can users. Calls come from one thread at a time.
 *
 * <p>{@link #close()} flushes and releases whatever the sink holds (for file exporters: writes the
 * file). It is called once, after the last sample.
 */
public interface SampleSink extends AutoCloseable {

    /** Takes one sample. Must not block for long: the sampler drops samples a slow sink cannot take. */
    void accept(StackSample sample);

    /** Flushes and releases resources. The default does nothing. */
    @Override
    default void close() throws java.io.IOException {
    }
}
