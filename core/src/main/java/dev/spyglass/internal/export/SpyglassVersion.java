package dev.spyglass.internal.export;

/** The version written into files that record their producer. */
final class SpyglassVersion {
    static final String VERSION = "0.1.0";
    static final String PRODUCER = "spyglass " + VERSION;

    private SpyglassVersion() {
    }
}
