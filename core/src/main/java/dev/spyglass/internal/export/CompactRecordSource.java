package dev.spyglass.internal.export;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadStack;
import dev.spyglass.ThreadState;
import dev.spyglass.export.ExportOptions;
import dev.spyglass.export.ProfileMetadata;
import dev.spyglass.export.RecordingFormatException;
import dev.spyglass.export.ThreadGrouping;

/**
 * The records of a compact recording ({@link CompactRecordingExporter} describes the layout), read one at a time
 * with the tables they refer to: nothing but the tables is kept, and every table, string and count is checked
 * against the bounds of {@link CompactFormat} before it is read, so a damaged file is an error naming its byte
 * offset, never a large allocation. The end of the input inside a record is a cut ({@link #truncated()}).
 */
public final class CompactRecordSource implements RecordSource {

    /** The bytes a caller must look at to tell a compact recording ({@link #startsWithMagic}). */
    public static final int MAGIC_LENGTH = CompactFormat.MAGIC.length;

    private record ThreadEntry(long pid, long nativeId, long start, long pythonId, String name, long interpreter) {
    }

    private final CompactInput in;
    private final List<String> strings = new ArrayList<>();
    private long stringBytes;
    private final List<Frame> frames = new ArrayList<>();
    private final List<List<Frame>> stacks = new ArrayList<>();
    private long stackFrames;
    private final List<ThreadEntry> threads = new ArrayList<>();
    private long previousTime;
    private long previousWeight;
    private long recordStart;
    private int metadataBudget;
    private boolean truncated;
    private boolean atEnd;
    private boolean endSeen;

    /**
     * Reads the magic and the version.
     *
     * @throws RecordingFormatException when the version is one this reader does not know
     */
    public CompactRecordSource(InputStream in) throws IOException {
        this.in = new CompactInput(in);
        try {
            for (int i = 0; i < MAGIC_LENGTH; i++) {
                if (this.in.u8() != (CompactFormat.MAGIC[i] & 0xff)) {
                    throw RecordingFormatException.atByte(i, "not a compact recording (no magic)");
                }
            }
            long version = this.in.varint();
            if (version != CompactFormat.VERSION) {
                throw RecordingFormatException.atByte(MAGIC_LENGTH, "version " + Long.toUnsignedString(version)
                        + " of the compact recording format; this reader knows version " + CompactFormat.VERSION);
            }
        } catch (CompactInput.Cut e) {
            truncated = true;
            atEnd = true;
        } catch (CompactInput.Malformed e) {
            throw RecordingFormatException.atByte(MAGIC_LENGTH, e.getMessage());
        }
    }

    /** Whether {@code head}'s first {@code length} bytes start with the compact recording's magic. */
    public static boolean startsWithMagic(byte[] head, int length) {
        return CompactFormat.startsWithMagic(head, length);
    }

    @Override
    public JsonLinesRecords.Record next() throws IOException {
        while (!atEnd) {
            recordStart = in.offset();
            int tag = in.byteOrEnd();
            if (tag < 0) {
                atEnd = true;
                break;
            }
            if (endSeen) {
                // (RecordingReader says so for samples; a table record would pass it unseen)
                throw error("a record after the end line");
            }
            try {
                JsonLinesRecords.Record r = record(tag);
                if (r != null) {
                    return r;
                }
            } catch (CompactInput.Cut e) {
                truncated = true;
                atEnd = true;
            } catch (CompactInput.Malformed e) {
                throw error(e.getMessage());
            }
        }
        return null;
    }

    @Override
    public boolean truncated() {
        return truncated;
    }

    @Override
    public RecordingFormatException error(String message) {
        return RecordingFormatException.atByte(recordStart, message);
    }

    /** The record {@code tag} starts, or {@code null} for a table record, a reset or a skipped one. */
    private JsonLinesRecords.Record record(int tag) throws IOException, CompactInput.Cut, CompactInput.Malformed {
        if (tag >= CompactFormat.SAMPLE && tag < CompactFormat.SAMPLE + 16) {
            return sample(tag);
        }
        switch (tag) {
            case CompactFormat.STRING -> {
                room(strings.size(), "strings");
                byte[] utf8 = in.stringBytes(CompactFormat.MAX_STRING_BYTES);
                if (stringBytes + utf8.length > CompactFormat.MAX_STRING_TABLE_BYTES) {
                    throw new CompactInput.Malformed("the string table passes its bound of "
                            + CompactFormat.MAX_STRING_TABLE_BYTES + " bytes without a reset");
                }
                stringBytes += utf8.length;
                strings.add(in.decode(utf8));
            }
            case CompactFormat.FRAME -> {
                room(frames.size(), "frames");
                frames.add(frame());
            }
            case CompactFormat.STACK -> {
                room(stacks.size(), "stacks");
                int depth = in.below(CompactFormat.MAX_STACK_DEPTH + 1L, "a stack's depth");
                if (stackFrames + depth > CompactFormat.MAX_STACK_TABLE_FRAMES) {
                    throw new CompactInput.Malformed("the stack table passes its bound of "
                            + CompactFormat.MAX_STACK_TABLE_FRAMES + " frames without a reset");
                }
                Frame[] stack = new Frame[depth];
                for (int i = 0; i < depth; i++) {
                    stack[i] = frames.get(in.below(frames.size(), "a stack's frame number"));
                }
                stackFrames += depth;
                stacks.add(List.of(stack));
            }
            case CompactFormat.THREAD -> {
                room(threads.size(), "threads");
                long pid = in.signed();
                long nativeId = in.signed();
                long start = in.signed();
                long pythonId = in.signed();
                String name = string("a thread's name");
                threads.add(new ThreadEntry(pid, nativeId, start, pythonId, name, in.signed()));
            }
            case CompactFormat.RESET -> {
                strings.clear();
                frames.clear();
                stacks.clear();
                threads.clear();
                stringBytes = 0;
                stackFrames = 0;
            }
            case CompactFormat.HEADER -> {
                return header();
            }
            case CompactFormat.END -> {
                metadataBudget = CompactFormat.MAX_METADATA_BYTES;
                JsonLinesRecords.End end = new JsonLinesRecords.End(metadata());
                endSeen = true;
                return end;
            }
            default -> {
                if (tag < CompactFormat.FIRST_SKIPPABLE || tag > CompactFormat.LAST_SKIPPABLE) {
                    throw new CompactInput.Malformed(String.format("unknown record tag 0x%02x", tag));
                }
                in.skip(in.below(CompactFormat.MAX_SKIPPED_BYTES + 1L, "a skipped record's length"));
                return new JsonLinesRecords.Other(String.format("0x%02x", tag));
            }
        }
        return null;
    }

    private void room(int size, String table) throws CompactInput.Malformed {
        if (size >= CompactFormat.MAX_ENTRIES) {
            throw new CompactInput.Malformed("more than " + CompactFormat.MAX_ENTRIES + " " + table
                    + " without a reset");
        }
    }

    private JsonLinesRecords.Sample sample(int tag) throws IOException, CompactInput.Cut, CompactInput.Malformed {
        ThreadState state = CompactFormat.state((tag >> 2) & 3);
        if (state == null || (tag & 3) == 3) {
            throw new CompactInput.Malformed(String.format("sample tag 0x%02x names no thread state or GIL", tag));
        }
        Boolean gil = switch (tag & 3) {
            case 1 -> false;
            case 2 -> true;
            default -> null;
        };
        ThreadEntry t = threads.get(in.below(threads.size(), "a sample's thread number"));
        List<Frame> stack = stacks.get(in.below(stacks.size(), "a sample's stack number"));
        long time = previousTime + in.signed();
        long weight = previousWeight + in.signed();
        if (weight < 0) {
            throw new CompactInput.Malformed("a sample's weight is negative: " + weight);
        }
        previousTime = time;
        previousWeight = weight;
        return new JsonLinesRecords.Sample(new StackSample(new ThreadStack(t.pid, t.nativeId, t.start, t.pythonId,
                t.name, t.interpreter, state, gil, stack), time, weight));
    }

    private Frame frame() throws IOException, CompactInput.Cut, CompactInput.Malformed {
        int kind = in.u8();
        if (kind >= Frame.FrameKind.values().length) {
            throw new CompactInput.Malformed("a frame's kind " + kind + " is unknown");
        }
        String function = string("a frame's function");
        String qualname = string("a frame's qualified name");
        String file = string("a frame's file");
        return new Frame(Frame.FrameKind.values()[kind], function, qualname, file, in.signedInt("a frame's line"),
                in.signedInt("a frame's end line"), in.signedInt("a frame's column"),
                in.signedInt("a frame's end column"), in.signedInt("a frame's first line"));
    }

    /** A string of the table, by its number. */
    private String string(String what) throws IOException, CompactInput.Cut, CompactInput.Malformed {
        return strings.get(in.below(strings.size(), what + "'s string number"));
    }

    private JsonLinesRecords.Header header() throws IOException, CompactInput.Cut, CompactInput.Malformed {
        metadataBudget = CompactFormat.MAX_METADATA_BYTES;
        inlineString(); // the producer: for people reading the file, as jsonl's
        ProfileMetadata metadata = metadata();
        ExportOptions.Builder options = ExportOptions.builder().includeIdle(flag("idle"))
                .lineNumbers(flag("lines"));
        String threads = inlineString();
        try {
            options.threads(ThreadGrouping.parse(threads));
        } catch (IllegalArgumentException e) {
            throw new CompactInput.Malformed("the thread grouping: " + e.getMessage());
        }
        long count = in.varint();
        for (long i = 0; i < count; i++) {
            options.property(inlineString(), inlineString());
        }
        return new JsonLinesRecords.Header(CompactFormat.VERSION, metadata, options.build());
    }

    private boolean flag(String what) throws IOException, CompactInput.Cut, CompactInput.Malformed {
        int b = in.u8();
        if (b > 1) {
            throw new CompactInput.Malformed("the option " + what + " is " + b + ", not 0 or 1");
        }
        return b == 1;
    }

    private ProfileMetadata metadata() throws IOException, CompactInput.Cut, CompactInput.Malformed {
        long count = in.varint();
        List<String> command = new ArrayList<>();
        for (long i = 0; i < count; i++) {
            command.add(inlineString());
        }
        ProfileMetadata.Builder m = ProfileMetadata.builder().command(command).pid(in.signed())
                .pythonVersion(inlineString()).mode(inlineString());
        long interval = in.signed();
        long start = in.signed();
        long duration = in.signed();
        return m.interval(Duration.ofNanos(interval)).startEpochNanos(start).duration(Duration.ofNanos(duration))
                .samples(in.signed()).tornSamples(in.signed()).droppedSamples(in.signed())
                .achievedRate(in.float64()).container(inlineString()).build();
    }

    /**
     * A string written in its record (metadata, options), counted against the record's budget with a byte for
     * each, so that no count of empty strings makes a list grow without bound either.
     */
    private String inlineString() throws IOException, CompactInput.Cut, CompactInput.Malformed {
        byte[] utf8 = in.stringBytes(Math.min(CompactFormat.MAX_STRING_BYTES, Math.max(0, metadataBudget)));
        metadataBudget -= utf8.length + 1;
        if (metadataBudget < 0) {
            throw new CompactInput.Malformed("the strings of a header or end record pass "
                    + CompactFormat.MAX_METADATA_BYTES + " bytes");
        }
        return in.decode(utf8);
    }
}
