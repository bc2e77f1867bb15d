package dev.spyglass.internal.python;

import dev.spyglass.SamplingMode;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import dev.spyglass.PythonScripts;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.internal.image.CapturedImage;
import dev.spyglass.internal.image.MemoryImage;
import dev.spyglass.internal.image.RecordingMemory;
import dev.spyglass.internal.os.ProcessMap;
import dev.spyglass.internal.os.RemoteMemory;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * Captures the memory images {@link StackWalkReplayTest} replays: for each interpreter on the machine,
 * starts {@code images/replay_target.py} (two threads parked in {@code time.sleep} at known stacks),
 * reads it twice with the stack reader through a {@link RecordingMemory}, checks the reader's frames
 * against the stacks the script itself wrote (its {@code sys._current_frames()}), checks that the
 * recorded bytes replay to the same looks, and saves {@code images/<label>.img}.
 *
 * <p>Off unless asked for (it rewrites files in the source tree):
 * {@code ./mvnw -pl core verify -Dtest=MemoryImageCapture -Dspyglass.capture=true
 * -Dsurefire.failIfNoSpecifiedTests=false}; {@code SPYGLASS_PYTHON_FILTER} picks interpreters,
 * {@code -Dspyglass.capture.dir} the output folder. See docs/testing-memory-images.md.
 */
@EnabledIfSystemProperty(named = "spyglass.capture", matches = "true")
class MemoryImageCapture {
    private static final long PAGE = 4096;

    private static Path outputDir() {
        return Path.of(System.getProperty("spyglass.capture.dir", "src/test/resources/images"));
    }

    /** A thread as the target script saw itself. */
    record TruthThread(long nativeThreadId, List<String> frames) {
    }

    @ForEachPython
    void captures(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Path dir = Files.createDirectories(Path.of(System.getProperty("java.io.tmpdir"), "spyglass-replay",
                py.label()));
        Path script = copyResource("replay_target.py", dir.resolve("replay_target.py"));
        // A non-ASCII file name: co_filename must decode too (3.x only; 2.7 ignores it).
        Path unicode = copyResource("replay_unicode.py", dir.resolve("tëst_ünï.py"));
        Path truthFile = dir.resolve("truth.txt");
        Files.deleteIfExists(truthFile);
        try (PythonScripts.Running target = PythonScripts.start(py, script, truthFile.toString(), unicode.toString())) {
            assertThat(PythonScripts.awaitFile(truthFile)).as("%s wrote %s", py.label(), truthFile).isTrue();
            String truthText = Files.readString(truthFile, StandardCharsets.UTF_8);
            Map<Long, TruthThread> truth = parseTruth(truthText);
            awaitThreads(target.pid(), truth.size());
            CapturedImage image = capture(py, target.pid(), truth, truthText);
            Files.createDirectories(outputDir());
            Path out = outputDir().resolve(py.label() + ".img");
            image.write(out);
            System.out.printf("%s: %s, %d ranges, %d bytes in memory, %d bytes on disk, syscalls per look %s%n",
                    py.label(), image.version(), image.memory().rangeCount(), image.memory().byteCount(),
                    Files.size(out), image.looks().stream().map(CapturedImage.Look::syscalls).toList());
            // The saved file reads back to what was captured.
            assertThat(ImageReplay.replay(CapturedImage.read(out), 2)).isEqualTo(image.looks());
        }
    }

    private static CapturedImage capture(PythonInterpreter py, long pid, Map<Long, TruthThread> truth, String truthText)
            throws Exception {
        ProcessMap map = ProcessMap.read(pid);
        RemoteMemory live = RemoteMemory.open(pid, map.firstReadableAddress());
        try (RecordingMemory recording = new RecordingMemory(live)) {
            // The locator's reads are driven by the ELF file, which the replay does not have: not recorded.
            recording.recording(false);
            LocatedInterpreter loc = InterpreterLocator.locate(pid, map, recording, InterpreterLocator.Options.DEFAULT);
            recording.recording(true);
            // 3.13+: records the _Py_DebugOffsets the replay rebuilds the layout from.
            Layout layout = LayoutResolver.layoutFor(pid, loc.version(), loc.runtimeAddress(), recording,
                    loc.objectPath());
            assertThat(layout.version()).isEqualTo(loc.version());
            List<CapturedImage.Look> looks = new ArrayList<>();
            try (StackReader reader = new StackReader(pid, recording, loc, null)) {
                // Two looks: the second takes the reader's read-ahead of the first look's addresses.
                looks.add(ImageReplay.look(reader, recording));
                looks.add(ImageReplay.look(reader, recording));
            }
            checkAgainstTruth(py, looks, truth);
            MemoryImage exact = recording.image().copy();
            Map<String, String> notes = new LinkedHashMap<>();
            notes.put("captured", Instant.now().toString());
            notes.put("interpreter", py.label() + " " + py.origin() + " " + py.interpreterObject());
            notes.put("script truth", truthText);
            notes.put("bytes read by the reader", Long.toString(exact.byteCount()));
            CapturedImage exactImage = new CapturedImage(py.label(), pid, loc.version().toString(),
                    loc.versionSource(), loc.objectPath(), loc.loadBias(), loc.runtimeAddress(), loc.headAddress(),
                    loc.headSource(), loc.tstateCurrentAddress(), loc.codeTypeAddress(), notes, looks, exact);
            // The recording holds every byte the reader needed: replaying it alone gives the same looks
            // with the same number of reads.
            assertThat(ImageReplay.replay(exactImage, 2)).as("%s: replay of the exact recording", py.label())
                    .isEqualTo(looks);
            CapturedImage widened = exactImage.withMemory(widen(live, exact));
            assertThat(ImageReplay.replay(widened, 2)).as("%s: replay of the widened image", py.label())
                    .isEqualTo(looks);
            return widened;
        }
    }

    /**
     * The recorded bytes plus the rest of each page they touch, read from the live target: a walker that
     * reads a neighbouring field of the same struct (the per-era walkers being split out of the reader
     * may group reads differently) still finds it in the image. Whole pages keep the image's edges where
     * the target's mappings end, so a read that faulted at capture still faults in the replay. The
     * bytes the reader actually saw win over the later page copies.
     */
    private static MemoryImage widen(RemoteMemory live, MemoryImage exact) throws Exception {
        MemoryImage out = new MemoryImage();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment page = arena.allocate(PAGE, 16);
            for (MemoryImage.Range r : exact.ranges()) {
                for (long p = r.address() & -PAGE; p < r.end(); p += PAGE) {
                    if (!out.contains(p, PAGE)) {
                        long n = live.readPartial(p, page);
                        out.put(p, page.asSlice(0, n));
                    }
                }
            }
        }
        for (MemoryImage.Range r : exact.ranges()) {
            out.put(r.address(), r.bytes());
        }
        return out;
    }

    private static void checkAgainstTruth(PythonInterpreter py, List<CapturedImage.Look> looks,
            Map<Long, TruthThread> truth) {
        assertThat(looks.get(1).threads()).as("%s: both looks see the same threads and frames", py.label())
                .isEqualTo(looks.get(0).threads());
        for (CapturedImage.Look look : looks) {
            assertThat(look.threads()).hasSize(truth.size());
            for (CapturedImage.ThreadLook t : look.threads()) {
                assertThat(t.torn()).as("%s: thread %d torn", py.label(), t.pythonThreadId()).isFalse();
                TruthThread expected = truth.get(t.pythonThreadId());
                assertThat(expected).as("%s: the script knows thread %d", py.label(), t.pythonThreadId()).isNotNull();
                assertThat(t.frames()).as("%s: thread %d against sys._current_frames()", py.label(),
                        t.pythonThreadId()).containsExactlyElementsOf(expected.frames());
                if (t.nativeThreadId() > 0 && expected.nativeThreadId() > 0) {
                    assertThat(t.nativeThreadId()).isEqualTo(expected.nativeThreadId());
                }
            }
        }
    }

    /** Blocks until the reporter thread of the script has ended (only the parked threads are left). */
    private static void awaitThreads(long pid, int expected) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        try (Target t = Target.attach(pid)) {
            while (t.readThreads(SamplingMode.WALL) != expected) {
                assertThat(System.nanoTime() - deadline).as("threads of %d never became %d", pid, expected)
                        .isNegative();
                Thread.sleep(20);
            }
        }
    }

    static Map<Long, TruthThread> parseTruth(String text) {
        Map<Long, TruthThread> out = new LinkedHashMap<>();
        long ident = 0;
        long tid = -1;
        List<String> frames = null;
        for (String line : text.split("\n")) {
            if (line.startsWith("thread ")) {
                String[] parts = line.split(" ");
                ident = Long.parseUnsignedLong(parts[1]);
                tid = Long.parseLong(parts[2]);
                frames = new ArrayList<>();
            } else if (line.equals("end")) {
                out.put(ident, new TruthThread(tid, frames));
                frames = null;
            } else if (frames != null) {
                frames.add(line);
            }
        }
        return out;
    }

    private static Path copyResource(String name, Path to) throws IOException {
        try (InputStream in = MemoryImageCapture.class.getResourceAsStream("/images/" + name)) {
            if (in == null) {
                throw new IOException("test resource images/" + name + " missing");
            }
            Files.copy(in, to, StandardCopyOption.REPLACE_EXISTING);
        }
        return to;
    }
}
