package dev.spyglass.export;

import dev.spyglass.SampleSink;

/**
 * A {@link SampleSink} that writes samples in a named file format. {@link ExporterProvider}s create them; a
 * user's own format implements this interface and a provider the same way the built-in ones do.
 *
 * <p>{@link #close()} writes whatever the format keeps until the end (aggregating formats write the whole file
 * then) and closes the output. Calls come from one thread at a time.
 */
public interface Exporter extends SampleSink {

    /** The short format name used on the command line, e.g. {@code collapsed}, {@code pprof}. */
    String formatName();
}
