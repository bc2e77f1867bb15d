package dev.spyglass.internal.image;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * A memory image captured from a real interpreter, with what is needed to replay it: where the
 * interpreter was found (the fields of {@code LocatedInterpreter} except the layout, which the replay
 * rebuilds from the image itself) and what the stack reader saw in each look at capture time.
 *
 * <p>File format (whole file gzip'd, big-endian {@link DataOutputStream} encoding, strings as
 * modified UTF-8): the 8-byte magic {@code SPYGIMG\n}, the format version (int), the metadata, the
 * notes, the looks, then the ranges (address, length, bytes) in address order, then an end marker.
 * A reader refuses any other format version rather than guessing.
 *
 * @param label                where it was captured from, e.g. {@code pyenv-3.12.1}
 * @param pid                  the captured process's PID
 * @param version              the interpreter version as {@code PythonVersion.toString()} prints it
 *                             ({@code 3.14.0}, {@code 3.13.0t} for a free-threaded build)
 * @param versionSource        where the locator found the version
 * @param objectPath           the ELF object holding the interpreter
 * @param loadBias             its load bias
 * @param runtimeAddress       {@code _PyRuntime}, or 0
 * @param headAddress          the word holding the first interpreter
 * @param headSource           how the head was found
 * @param tstateCurrentAddress {@code _PyThreadState_Current} (2.7, 3.6), or 0
 * @param codeTypeAddress      {@code &PyCode_Type}, or 0
 * @param notes                free-form facts for people (capture date, the script's own stacks)
 * @param looks                what the reader saw, one entry per look, in order
 * @param memory               the bytes
 */
public record CapturedImage(String label, long pid, String version, String versionSource, String objectPath,
        long loadBias, long runtimeAddress, long headAddress, String headSource, long tstateCurrentAddress,
        long codeTypeAddress, Map<String, String> notes, List<Look> looks, MemoryImage memory) {

    static final byte[] MAGIC = "SPYGIMG\n".getBytes(StandardCharsets.US_ASCII);
    static final int FORMAT_VERSION = 1;
    private static final int END_MARKER = 0x454E4421; // "END!"

    /** One look: every thread the reader reported, in its order, and the reads it cost. */
    public record Look(long syscalls, List<ThreadLook> threads) {
        public Look {
            threads = List.copyOf(threads);
        }
    }

    /**
     * One thread of a look.
     *
     * @param frames innermost first, each as {@code qualname (file:line)} ({@code Frame.toString()})
     */
    public record ThreadLook(long pythonThreadId, long nativeThreadId, long interpreterId, boolean torn,
            List<String> frames) {
        public ThreadLook {
            frames = List.copyOf(frames);
        }
    }

    public CapturedImage {
        Objects.requireNonNull(label, "label");
        Objects.requireNonNull(version, "version");
        notes = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(notes));
        looks = List.copyOf(looks);
        Objects.requireNonNull(memory, "memory");
    }

    /** The same capture with other bytes (a test's corrupted copy). */
    public CapturedImage withMemory(MemoryImage other) {
        return new CapturedImage(label, pid, version, versionSource, objectPath, loadBias, runtimeAddress, headAddress,
                headSource, tstateCurrentAddress, codeTypeAddress, notes, looks, other);
    }

    public void write(Path file) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (OutputStream out = Files.newOutputStream(tmp)) {
            write(out);
        }
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    public void write(OutputStream stream) throws IOException {
        GZIPOutputStream gz = new GZIPOutputStream(stream, 1 << 16) {
            {
                def.setLevel(java.util.zip.Deflater.BEST_COMPRESSION);
            }
        };
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(gz, 1 << 16));
        out.write(MAGIC);
        out.writeInt(FORMAT_VERSION);
        out.writeUTF(label);
        out.writeLong(pid);
        out.writeUTF(version);
        out.writeUTF(versionSource);
        out.writeUTF(objectPath);
        out.writeLong(loadBias);
        out.writeLong(runtimeAddress);
        out.writeLong(headAddress);
        out.writeUTF(headSource);
        out.writeLong(tstateCurrentAddress);
        out.writeLong(codeTypeAddress);
        out.writeInt(notes.size());
        for (Map.Entry<String, String> e : notes.entrySet()) {
            out.writeUTF(e.getKey());
            writeLongText(out, e.getValue());
        }
        out.writeInt(looks.size());
        for (Look look : looks) {
            out.writeLong(look.syscalls());
            out.writeInt(look.threads().size());
            for (ThreadLook t : look.threads()) {
                out.writeLong(t.pythonThreadId());
                out.writeLong(t.nativeThreadId());
                out.writeLong(t.interpreterId());
                out.writeBoolean(t.torn());
                out.writeInt(t.frames().size());
                for (String f : t.frames()) {
                    out.writeUTF(f);
                }
            }
        }
        List<MemoryImage.Range> ranges = memory.ranges();
        out.writeInt(ranges.size());
        for (MemoryImage.Range r : ranges) {
            out.writeLong(r.address());
            out.writeInt(r.bytes().length);
            out.write(r.bytes());
        }
        out.writeInt(END_MARKER);
        out.flush();
        gz.finish();
    }

    public static CapturedImage read(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return read(in);
        } catch (IOException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    /** Reads an image; a wrong magic, another format version, or a truncated file is an {@link IOException}. */
    public static CapturedImage read(InputStream stream) throws IOException {
        DataInputStream in = new DataInputStream(new BufferedInputStream(new GZIPInputStream(stream, 1 << 16), 1 << 16));
        byte[] magic = in.readNBytes(MAGIC.length);
        if (!Arrays.equals(magic, MAGIC)) {
            throw new IOException("not a Spyglass memory image (magic " + Arrays.toString(magic) + ")");
        }
        int format = in.readInt();
        if (format != FORMAT_VERSION) {
            throw new IOException("memory image format " + format + " is not supported (this reader knows "
                    + FORMAT_VERSION + "); capture the image again");
        }
        String label = in.readUTF();
        long pid = in.readLong();
        String version = in.readUTF();
        String versionSource = in.readUTF();
        String objectPath = in.readUTF();
        long loadBias = in.readLong();
        long runtime = in.readLong();
        long head = in.readLong();
        String headSource = in.readUTF();
        long tstateCurrent = in.readLong();
        long codeType = in.readLong();
        int noteCount = count(in.readInt(), 1 << 10, "notes");
        Map<String, String> notes = new LinkedHashMap<>();
        for (int i = 0; i < noteCount; i++) {
            notes.put(in.readUTF(), readLongText(in));
        }
        int lookCount = count(in.readInt(), 64, "looks");
        List<Look> looks = new ArrayList<>();
        for (int i = 0; i < lookCount; i++) {
            long syscalls = in.readLong();
            int threadCount = count(in.readInt(), 1 << 12, "threads");
            List<ThreadLook> threads = new ArrayList<>();
            for (int t = 0; t < threadCount; t++) {
                long pyTid = in.readLong();
                long nativeTid = in.readLong();
                long interp = in.readLong();
                boolean torn = in.readBoolean();
                int frameCount = count(in.readInt(), 1 << 16, "frames");
                List<String> frames = new ArrayList<>();
                for (int f = 0; f < frameCount; f++) {
                    frames.add(in.readUTF());
                }
                threads.add(new ThreadLook(pyTid, nativeTid, interp, torn, frames));
            }
            looks.add(new Look(syscalls, threads));
        }
        int rangeCount = count(in.readInt(), 1 << 24, "ranges");
        MemoryImage memory = new MemoryImage();
        for (int i = 0; i < rangeCount; i++) {
            long address = in.readLong();
            int length = count(in.readInt(), 1 << 30, "range bytes");
            byte[] bytes = in.readNBytes(length);
            if (bytes.length != length) {
                throw new IOException("memory image truncated inside range " + i);
            }
            memory.put(address, bytes);
        }
        if (in.readInt() != END_MARKER) {
            throw new IOException("memory image has no end marker (truncated or corrupt)");
        }
        return new CapturedImage(label, pid, version, versionSource, objectPath, loadBias, runtime, head, headSource,
                tstateCurrent, codeType, notes, looks, memory);
    }

    private static int count(int n, int max, String what) throws IOException {
        if (n < 0 || n > max) {
            throw new IOException("memory image: " + n + " " + what + " (corrupt)");
        }
        return n;
    }

    // writeUTF stops at 64 KiB; notes (the script's own stack dump) may be longer.
    private static void writeLongText(DataOutputStream out, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    private static String readLongText(DataInputStream in) throws IOException {
        return new String(in.readNBytes(count(in.readInt(), 1 << 24, "note bytes")), StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return label + " (CPython " + version + ")";
    }
}
