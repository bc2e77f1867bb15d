/**
 * Exporters: {@link dev.spyglass.SampleSink}s that write samples in the formats other tools read
 * (collapsed stacks, Austin, JSON lines, speedscope, pprof, HTML flame graph).
 */
package dev.spyglass.export;
