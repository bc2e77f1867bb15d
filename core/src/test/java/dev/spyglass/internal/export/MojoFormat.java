package dev.spyglass.internal.export;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A strict reader of Austin's MOJO binary format, written from Austin 4's format description ("The MOJO File
 * Format": header {@code MOJ} + varint version; events of one id byte; NUL-terminated strings; varints with a
 * sign bit and six value bits in the first byte and seven in each next one) and the event layouts of its
 * {@code mojo.h}, independently of {@link MojoExporter}. Anything the format does not allow fails: an unknown event,
 * a reference to a string or frame its process never defined, a definition or marker outside a sample, a truncated
 * event, a sample without a metric. Austin's stack-repeat event is refused too: Spyglass does not write it.
 */
final class MojoFormat {

    /** A frame as a MOJO reader sees it: Python and native frames alike, or a kernel frame (file {@code null}). */
    record Frame(String file, String name, long line, long lineEnd, long column, long columnEnd) {
        static Frame kernel(String name) {
            return new Frame(null, name, 0, 0, 0, 0);
        }

        boolean isKernel() {
            return file == null;
        }
    }

    /** A sample; {@code invalidFrames} counts Austin's markers of frames it could not read (Spyglass writes none). */
    record Sample(long pid, long iid, String thread, List<Frame> rootFirst, Long time, Long memory, boolean idle,
            boolean gc, int invalidFrames) {
    }

    /** The version, the metadata in file order (a key given twice keeps its last value), the samples. */
    record Profile(long version, Map<String, String> metadata, List<Sample> samples) {
    }

    private final byte[] data;
    private int pos;

    private MojoFormat(byte[] data) {
        this.data = data;
    }

    static Profile parse(byte[] data) {
        return new MojoFormat(data).profile();
    }

    private Profile profile() {
        if (data.length < 4 || data[0] != 'M' || data[1] != 'O' || data[2] != 'J') {
            throw new IllegalArgumentException("not a MOJO file: no MOJ magic");
        }
        pos = 3;
        long version = varint();
        Map<String, String> metadata = new LinkedHashMap<>();
        List<Sample> samples = new ArrayList<>();
        Map<Long, Map<Long, String>> strings = new HashMap<>();
        Map<Long, Map<Long, Frame>> frames = new HashMap<>();
        Building current = null;
        while (pos < data.length) {
            int at = pos;
            int event = data[pos++] & 0xff;
            switch (event) {
                case 1 -> metadata.put(string(), string());
                case 2 -> {
                    if (current != null) {
                        samples.add(current.done(at));
                    }
                    current = new Building(varint(), varint(), string());
                }
                case 3 -> {
                    Building s = inSample(current, "frame", at);
                    long key = varint();
                    Map<Long, String> table = strings.getOrDefault(s.pid, Map.of());
                    String file = resolve(table, varint(), at);
                    String name = resolve(table, varint(), at);
                    frames.computeIfAbsent(s.pid, p -> new HashMap<>()).put(key,
                            new Frame(file, name, varint(), varint(), varint(), varint()));
                }
                case 5 -> {
                    Building s = inSample(current, "frame reference", at);
                    long key = varint();
                    Frame f = frames.getOrDefault(s.pid, Map.of()).get(key);
                    if (f == null) {
                        throw new IllegalArgumentException("frame " + key + " of pid " + s.pid + " referenced at "
                                + at + " before its definition");
                    }
                    s.frames.add(f);
                }
                case 4 -> inSample(current, "invalid frame", at).invalidFrames++;
                case 6 -> inSample(current, "kernel frame", at).frames.add(Frame.kernel(string()));
                case 7 -> inSample(current, "GC marker", at).gc = true;
                case 8 -> inSample(current, "idle marker", at).idle = true;
                case 9 -> inSample(current, "time metric", at).time = varint();
                case 10 -> inSample(current, "memory metric", at).memory = varint();
                case 11 -> {
                    Building s = inSample(current, "string", at);
                    long key = varint();
                    strings.computeIfAbsent(s.pid, p -> new HashMap<>()).put(key, string());
                }
                default -> throw new IllegalArgumentException("event " + event + " at " + at
                        + " is not one Spyglass writes (stack repeat, tasks) or not a MOJO event");
            }
        }
        if (current != null) {
            samples.add(current.done(pos));
        }
        return new Profile(version, metadata, samples);
    }

    private static String resolve(Map<Long, String> table, long key, int at) {
        String s = table.get(key);
        if (s == null) {
            throw new IllegalArgumentException("string " + key + " used at " + at + " before its definition");
        }
        return s;
    }

    private static Building inSample(Building current, String what, int at) {
        if (current == null) {
            throw new IllegalArgumentException(what + " at " + at + " before any stack event");
        }
        return current;
    }

    private static final class Building {
        final long pid;
        final long iid;
        final String thread;
        final List<Frame> frames = new ArrayList<>();
        Long time;
        Long memory;
        boolean idle;
        boolean gc;
        int invalidFrames;

        Building(long pid, long iid, String thread) {
            this.pid = pid;
            this.iid = iid;
            this.thread = thread;
        }

        Sample done(int at) {
            if (time == null && memory == null) {
                throw new IllegalArgumentException("sample ending at " + at + " has no metric");
            }
            return new Sample(pid, iid, thread, List.copyOf(frames), time, memory, idle, gc, invalidFrames);
        }
    }

    private int next() {
        if (pos >= data.length) {
            throw new IllegalArgumentException("truncated at " + pos);
        }
        return data[pos++] & 0xff;
    }

    private long varint() {
        int b = next();
        boolean negative = (b & 0x40) != 0;
        long value = b & 0x3f;
        int shift = 6;
        while ((b & 0x80) != 0) {
            if (shift > 62) {
                throw new IllegalArgumentException("varint too long at " + pos);
            }
            b = next();
            value |= (long) (b & 0x7f) << shift;
            shift += 7;
        }
        return negative ? -value : value;
    }

    private String string() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int b = next(); b != 0; b = next()) {
            bytes.write(b);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
