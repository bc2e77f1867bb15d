/**
 * Writing samples to files: the {@link dev.spyglass.export.Exporter} a format's
 * {@link dev.spyglass.export.ExporterProvider} creates, found by name or file name ending through
 * {@link dev.spyglass.export.ExportFormats} ({@link java.util.ServiceLoader}), with the
 * {@link dev.spyglass.export.ExportOptions} and {@link dev.spyglass.export.ProfileMetadata} it is given.
 * Built in: {@code html} (interactive flame graph), {@code speedscope}, {@code pprof}, {@code collapsed}
 * (folded stacks), {@code austin} and {@code jsonl}; users add their own the same way.
 * {@link dev.spyglass.export.RecordingReader} reads a {@code jsonl} recording back, to write it in other formats.
 */
package dev.spyglass.export;
