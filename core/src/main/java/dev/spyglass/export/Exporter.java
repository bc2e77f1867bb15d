package dev.spyglass.export;

import dev.spyglass.SampleSink;

/**
 * A {@link SampleSink} that writes samples in a named file format. Built-in exporters implement it;
 * users write their own the same way.
 */
public interface Exporter extends SampleSink {

    /** The short format name used on the command line, e.g. {@code collapsed}, {@code pprof}. */
    String formatName();
}
