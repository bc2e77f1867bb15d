package dev.spyglass.export;

import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.zip.GZIPInputStream;

import dev.spyglass.ProfileEvent;
import dev.spyglass.SampleSink;
import dev.spyglass.StackSample;
import dev.spyglass.internal.export.CompactRecordSource;
import dev.spyglass.internal.export.JsonLinesRecords;
import dev.spyglass.internal.export.JsonLinesSource;
import dev.spyglass.internal.export.RecordSource;

/**
 * Reads a recording back: a file the {@code jsonl} format (Spyglass's lossless, readable format) or the
 * {@code sgr} format (the same content, compact and binary) wrote, either also gzip'ed, as its metadata, the export options it was made with and its samples in the order they were recorded. Writing
 * them to another format gives the file that format would have written during the recording:
 *
 * <pre>{@code
 * try (RecordingReader in = RecordingReader.open(Path.of("app.jsonl"));
 *      Exporter out = ExportFormats.create(ExportFormats.installed().byName("pprof").orElseThrow(),
 *              Path.of("app.pb.gz"), in.exportOptions())) {
 *     in.drainTo(out);
 * }
 * }</pre>
 *
 * <p>A recording cut short (the process writing it was killed) is read up to its last whole record;
 * {@link #truncated()} then says so. Anything else that is not a recording is a {@link RecordingFormatException}
 * naming the line (or, in a compact recording, the byte offset) and what is wrong. No line longer than
 * {@link #MAX_LINE_BYTES} is read into memory; a compact recording is told by its first bytes, whatever the
 * file's name, and holds nothing but its bounded tables in memory.
 * Files without a header line (written with {@code jsonl.metadata=false}, or by a Spyglass before the header
 * existed) are read too, with unknown metadata and the default options. Not thread-safe.
 */
public final class RecordingReader implements Closeable {

    /** The longest line read: a sample of thousands of frames takes a few hundred KiB. */
    public static final int MAX_LINE_BYTES = 16 << 20;

    private final InputStream in;
    private final RecordSource records;
    private ProfileMetadata header = ProfileMetadata.UNKNOWN;
    private ProfileMetadata end;
    private ExportOptions recorded = ExportOptions.defaults();
    private StackSample pending;
    private boolean seenRecord;
    private boolean atEnd;
    private long samples;
    private long firstPid = -1;
    private long firstTimestamp = Long.MAX_VALUE;
    private long lastTimestamp = Long.MIN_VALUE;

    private RecordingReader(InputStream in, RecordSource records) throws IOException {
        this.in = in;
        this.records = records;
        ProfileEvent first = read();
        if (first instanceof StackSample s) {
            pending = s;
        }
    }

    /**
     * Opens a recording file (plain or gzip'ed) and reads its header.
     *
     * @throws RecordingFormatException when the file does not start as a recording
     * @throws IOException              when it cannot be read
     */
    public static RecordingReader open(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        return of(Files.newInputStream(file));
    }

    /**
     * Reads a recording from {@code in} (plain or gzip'ed), which the reader owns and closes.
     *
     * @throws RecordingFormatException when the stream does not start as a recording
     */
    public static RecordingReader of(InputStream in) throws IOException {
        Objects.requireNonNull(in, "in");
        BufferedInputStream buffered = new BufferedInputStream(in, 1 << 16);
        try {
            buffered.mark(2);
            boolean gzip = buffered.read() == 0x1f && buffered.read() == 0x8b;
            buffered.reset();
            InputStream plain = gzip ? new BufferedInputStream(new GZIPInputStream(buffered, 1 << 16), 1 << 16)
                    : buffered;
            plain.mark(CompactRecordSource.MAGIC_LENGTH);
            byte[] head = plain.readNBytes(CompactRecordSource.MAGIC_LENGTH);
            plain.reset();
            return new RecordingReader(plain, CompactRecordSource.startsWithMagic(head, head.length)
                    ? new CompactRecordSource(plain) : new JsonLinesSource(plain, MAX_LINE_BYTES));
        } catch (IOException | RuntimeException e) {
            buffered.close();
            throw e;
        }
    }

    /**
     * The recording's metadata as far as read: the header's (as known when the first sample was recorded)
     * until the end line gives the final figures. At the end of a recording without an end line (cut short,
     * or without a header) it is the header's with {@code samples} the number read, {@code duration} the time
     * from the first sample to the last, and the torn and dropped counts and the rate unknown. An exporter
     * given {@link #exportOptions()} asks for it at close, after the end line was read.
     */
    public ProfileMetadata metadata() {
        if (end != null) {
            return end;
        }
        if (!atEnd) {
            return header;
        }
        ProfileMetadata.Builder b = header.toBuilder().samples(samples).tornSamples(-1).droppedSamples(-1)
                .achievedRate(Double.NaN)
                .duration(samples > 0 ? Duration.ofNanos(Math.max(0, lastTimestamp - firstTimestamp)) : Duration.ZERO);
        if (header.pid() < 0) {
            b.pid(firstPid);
        }
        return b.build();
    }

    /**
     * The options the recording was made with (idle threads, line numbers, thread grouping, format properties),
     * with {@link #metadata()} as their live metadata: what {@code spyglass record} gave every format it wrote.
     * {@link ExportOptions#defaults()}' values for a file without a header.
     */
    public ExportOptions exportOptions() {
        return recorded.toBuilder().metadata(this::metadata).build();
    }

    /**
     * The next event of the recording (today always a {@link StackSample}), or {@code null} after the last.
     *
     * @throws RecordingFormatException when a line is not a record
     */
    public ProfileEvent next() throws IOException {
        if (pending != null) {
            StackSample s = pending;
            pending = null;
            return s;
        }
        return read();
    }

    /**
     * Hands every remaining sample to {@code sink} (without closing it) and returns how many.
     *
     * @throws RecordingFormatException when a line is not a record
     */
    public long drainTo(SampleSink sink) throws IOException {
        Objects.requireNonNull(sink, "sink");
        long n = 0;
        for (ProfileEvent e = next(); e != null; e = next()) {
            switch (e) {
                case StackSample s -> {
                    sink.accept(s);
                    n++;
                }
            }
        }
        return n;
    }

    /** Whether the recording ended in an incomplete record (it was cut short); known once the end was read. */
    public boolean truncated() {
        return records.truncated();
    }

    /** The number of samples read so far. */
    public long samplesRead() {
        return samples;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }

    private ProfileEvent read() throws IOException {
        while (!atEnd) {
            JsonLinesRecords.Record record = records.next();
            if (record == null) {
                atEnd = true;
                break;
            }
            if (end != null) {
                throw records.error("a record after the end line");
            }
            boolean first = !seenRecord;
            seenRecord = true;
            switch (record) {
                case JsonLinesRecords.Header h -> {
                    if (!first) {
                        throw records.error("a second recording header (are two recordings joined?)");
                    }
                    header = h.metadata();
                    recorded = h.options();
                }
                case JsonLinesRecords.End e -> end = e.metadata().container().isEmpty()
                        ? e.metadata().toBuilder().container(header.container()).build() : e.metadata();
                case JsonLinesRecords.Other o -> {
                    // a record type of a later version: skipped
                }
                case JsonLinesRecords.Sample s -> {
                    StackSample sample = s.sample();
                    if (samples == 0 && header.container().isEmpty() && !s.container().isEmpty()) {
                        // jsonl names the container on each sample line, not in its metadata
                        header = header.toBuilder().container(s.container()).build();
                    }
                    samples++;
                    if (firstPid < 0) {
                        firstPid = sample.pid();
                    }
                    firstTimestamp = Math.min(firstTimestamp, sample.timestampNanos());
                    lastTimestamp = Math.max(lastTimestamp, sample.timestampNanos());
                    return sample;
                }
            }
        }
        return null;
    }
}
