package dev.spyglass.internal.python;

import dev.spyglass.SamplingMode;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import dev.spyglass.SpyglassException;
import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.cpython.abi.Layouts;
import dev.spyglass.cpython.abi.PythonVersion;
import dev.spyglass.internal.image.CapturedImage;
import dev.spyglass.internal.image.MemoryImage;
import dev.spyglass.internal.image.ReplayMemory;

/**
 * The stack walk of every CPython era, without a live process: replays memory images captured from
 * real interpreters by {@link MemoryImageCapture} (two threads parked at known stacks; at capture the
 * reader's frames were checked against the script's own {@code sys._current_frames()}), and checks
 * that each look gives exactly the recorded threads and frames; then breaks the images (a frame
 * removed, a link turned into a cycle or garbage) and checks that only the broken thread is torn.
 */
class StackWalkReplayTest {

    /** The eras the issue asks images for: ≤3.10 frame objects, 3.11, the 3.12 shims, 3.13+ debug offsets. */
    private static final List<String> REQUIRED = List.of("2.7", "3.9", "3.11", "3.12", "3.13", "3.14");

    static Stream<CapturedImage> images() throws IOException {
        List<CapturedImage> out = new ArrayList<>();
        for (Path p : imageFiles()) {
            out.add(CapturedImage.read(p));
        }
        return out.stream();
    }

    private static List<Path> imageFiles() throws IOException {
        URL dir = StackWalkReplayTest.class.getResource("/images");
        if (dir == null) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(Path.of(dir.toURI()))) {
            return files.filter(p -> p.getFileName().toString().endsWith(".img")).sorted().toList();
        } catch (URISyntaxException e) {
            throw new IOException(e);
        }
    }

    @Test
    void imagesCoverEveryEra() throws IOException {
        List<String> minors = images().map(i -> {
            PythonVersion v = ImageReplay.version(i);
            return v.major() + "." + v.minor();
        }).toList();
        assertThat(minors).containsAll(REQUIRED);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("images")
    void replaysTheRecordedLooksExactly(CapturedImage image) throws Exception {
        List<CapturedImage.Look> replayed = ImageReplay.replay(image, 2);
        for (int i = 0; i < 2; i++) {
            List<CapturedImage.ThreadLook> threads = replayed.get(i).threads();
            assertThat(threads).as("look %d", i + 1).containsExactlyElementsOf(image.looks().get(i).threads());
            assertThat(threads).hasSizeGreaterThanOrEqualTo(2)
                    .allSatisfy(t -> assertThat(t.torn()).isFalse())
                    .allSatisfy(t -> assertThat(t.frames()).anyMatch(f -> f.startsWith("leaf_sleep ")));
        }
        // Reads per look may fall (better batching), never rise: the second look takes the read-ahead of
        // the first look's addresses, 1 - 5 calls at capture where the first took 51 - 76.
        for (int i = 0; i < 2; i++) {
            assertThat(replayed.get(i).syscalls()).as("reads in look %d", i + 1)
                    .isLessThanOrEqualTo(image.looks().get(i).syscalls());
        }
        assertThat(replayed.get(1).syscalls()).isLessThan(replayed.get(0).syscalls());
    }

    /**
     * Nothing changes between replayed looks, so every look after the first is the read-ahead's one call: the 3.12+
     * images' main thread has 5 - 6 frames outside its data stack (shims), which 4 read-ahead places per thread left
     * to 3 - 4 reads a look.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("images")
    void aSteadyTargetIsReadInOneCallPerLook(CapturedImage image) throws Exception {
        List<CapturedImage.Look> replayed = ImageReplay.replay(image, 4);
        assertThat(replayed.subList(1, 4)).extracting(CapturedImage.Look::syscalls).containsOnly(1L);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("images")
    void secondLookDecodesNoCodeObject(CapturedImage image) throws Exception {
        try (ReplayMemory memory = new ReplayMemory(image.pid(), image.memory());
                StackReader reader = new StackReader(image.pid(), memory, ImageReplay.locate(image, memory), null)) {
            reader.read(SamplingMode.WALL);
            long decodes = reader.codeDecodes();
            assertThat(decodes).isPositive();
            reader.read(SamplingMode.WALL);
            assertThat(reader.codeDecodes()).isEqualTo(decodes);
        }
    }

    /**
     * A control: the same bytes read with any other version's built-in layout (2.7 and 3.6 – 3.12,
     * neighbouring minors included) must not give the recorded stacks, so the exact comparison above
     * tells even close layouts apart. Measured: every such look was torn or empty, none threw.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("images")
    void noOtherVersionsLayoutReproducesTheStacks(CapturedImage image) throws Exception {
        PythonVersion v = ImageReplay.version(image);
        List<PythonVersion> others = List.of(PythonVersion.of(2, 7, 18), PythonVersion.of(3, 6, 15),
                PythonVersion.of(3, 7, 16), PythonVersion.of(3, 8, 18), PythonVersion.of(3, 9, 18),
                PythonVersion.of(3, 10, 13), PythonVersion.of(3, 11, 7), PythonVersion.of(3, 12, 1));
        for (PythonVersion other : others) {
            if (other.is(v.major(), v.minor())) {
                continue;
            }
            Layout wrong = Layouts.forVersion(other);
            List<CapturedImage.ThreadLook> got;
            try (ReplayMemory memory = new ReplayMemory(image.pid(), image.memory());
                    StackReader reader = new StackReader(image.pid(), memory, ImageReplay.locate(image, wrong), null)) {
                got = ImageReplay.look(reader, memory).threads();
            } catch (SpyglassException e) {
                continue;
            }
            assertThat(got).as("read with %s's layout", other).isNotEqualTo(image.looks().get(0).threads());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("images")
    void aMissingFrameTearsOnlyItsThread(CapturedImage image) throws Exception {
        LocatedInterpreter loc = located(image);
        Layout layout = loc.layout();
        long extent = frameExtent(layout);
        for (ImageReplay.Chain chain : ImageReplay.chains(image.memory(), loc)) {
            assertThat(chain.frames()).hasSizeGreaterThan(2);
            MemoryImage broken = image.memory().copy();
            broken.remove(chain.frames().get(1), extent);
            assertOnlyTorn(image, broken, chain.pythonThreadId(), "frame 1 removed");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("images")
    void aMissingDataStackChunkTearsOnlyItsThread(CapturedImage image) throws Exception {
        LocatedInterpreter loc = located(image);
        Layout layout = loc.layout();
        Assumptions.assumeTrue(layout.has(Field.TSTATE_DATASTACK_CHUNK), "3.11+: frames live in data-stack chunks");
        for (ImageReplay.Chain chain : ImageReplay.chains(image.memory(), loc)) {
            long chunk = chain.datastackChunk();
            long size = image.memory().getLong(chunk + layout.require(Field.CHUNK_SIZE));
            assertThat(size).isBetween(4096L, 64L << 20);
            MemoryImage broken = image.memory().copy();
            broken.remove(chunk, size);
            assertOnlyTorn(image, broken, chain.pythonThreadId(), "data-stack chunk removed");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("images")
    void aCorruptFrameLinkTearsOnlyItsThread(CapturedImage image) throws Exception {
        LocatedInterpreter loc = located(image);
        long unmapped = unmappedAddress(image.memory());
        for (ImageReplay.Chain chain : ImageReplay.chains(image.memory(), loc)) {
            long top = chain.frames().get(0);
            long second = chain.frames().get(1);
            long[] targets = {second, top, unmapped, second + 3, loc.headAddress()};
            String[] what = {"a cycle to itself", "a cycle to the top frame", "an unmapped address",
                "a misaligned pointer", "the interpreter list head (data, not a frame)"};
            for (int i = 0; i < targets.length; i++) {
                MemoryImage broken = image.memory().copy();
                broken.putLong(second + chain.linkOffset(), targets[i]);
                assertOnlyTorn(image, broken, chain.pythonThreadId(), "frame 1's link to " + what[i]);
            }
        }
    }

    /**
     * A frame whose code pointer points at a string (a real object, not code): up to 3.12 every frame
     * runs a code object, so the thread is torn; from 3.13 {@code f_executable} may legitimately hold
     * something else (None, a builtin), so that frame alone is left out.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("images")
    void aFrameRunningANonCodeObject(CapturedImage image) throws Exception {
        LocatedInterpreter loc = located(image);
        Layout layout = loc.layout();
        Field codeField = layout.has(Field.IFRAME_EXECUTABLE) ? Field.IFRAME_EXECUTABLE : Field.FRAME_CODE;
        long tagMask = layout.has(Field.CONST_STACKREF_TAG_MASK) ? layout.offset(Field.CONST_STACKREF_TAG_MASK) : 0;
        CapturedImage.Look expected = image.looks().get(0);
        for (ImageReplay.Chain chain : ImageReplay.chains(image.memory(), loc)) {
            long frame = chain.frames().get(1);
            long code = image.memory().getLong(frame + layout.require(codeField)) & ~tagMask;
            long name = image.memory().getLong(code + layout.require(Field.CODE_NAME));
            MemoryImage broken = image.memory().copy();
            broken.putLong(frame + layout.require(codeField), name);
            if (!ImageReplay.version(image).isAtLeast(3, 13)) {
                assertOnlyTorn(image, broken, chain.pythonThreadId(), "frame 1 running a str");
                continue;
            }
            List<CapturedImage.ThreadLook> got = ImageReplay.replay(image.withMemory(broken), 2).get(1).threads();
            for (int i = 0; i < got.size(); i++) {
                CapturedImage.ThreadLook want = expected.threads().get(i);
                if (want.pythonThreadId() == chain.pythonThreadId()) {
                    List<String> frames = new ArrayList<>(want.frames());
                    frames.remove(1);
                    want = new CapturedImage.ThreadLook(want.pythonThreadId(), want.nativeThreadId(),
                            want.interpreterId(), false, frames);
                }
                assertThat(got.get(i)).isEqualTo(want);
            }
        }
    }

    /**
     * Two looks at {@code broken}: thread {@code victim} is torn with a reason in both, every other
     * thread is exactly as recorded; nothing is thrown, each look ends within seconds and allocates
     * little (a garbage length must not become an allocation).
     */
    private static void assertOnlyTorn(CapturedImage image, MemoryImage broken, long victim, String how) {
        CapturedImage.Look expected = image.looks().get(0);
        Assertions.assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            long allocated = allocatedBytes();
            try (ReplayMemory memory = new ReplayMemory(image.pid(), broken);
                    StackReader reader = new StackReader(image.pid(), memory, ImageReplay.locate(image, memory), null)) {
                for (int look = 1; look <= 2; look++) {
                    CapturedImage.Look got = ImageReplay.look(reader, memory);
                    List<String> reasons = ImageReplay.tornReasons(reader);
                    assertThat(got.threads()).as("%s, look %d: threads", how, look).hasSameSizeAs(expected.threads());
                    for (int i = 0; i < got.threads().size(); i++) {
                        CapturedImage.ThreadLook t = got.threads().get(i);
                        if (t.pythonThreadId() == victim) {
                            assertThat(t.torn()).as("%s, look %d: thread %d torn (frames %s)", how, look, victim,
                                    t.frames()).isTrue();
                            assertThat(reasons.get(i)).as("%s: torn reason", how).isNotBlank();
                            assertThat(t.frames()).isEmpty();
                        } else {
                            assertThat(t).as("%s, look %d: the other thread", how, look)
                                    .isEqualTo(expected.threads().get(i));
                        }
                    }
                }
            } catch (SpyglassException e) {
                fail(how + ": the look failed instead of tearing one thread", e);
            }
            assertThat(allocatedBytes() - allocated).as("%s: bytes allocated", how)
                    .isLessThan(32L << 20);
        }, how);
    }

    /**
     * Bytes this thread allocated so far, through reflection: the tests compile inside the
     * {@code dev.spyglass} module, which does not read {@code java.management}; they run on the class path.
     */
    private static long allocatedBytes() throws ReflectiveOperationException {
        Object mx = Class.forName("java.lang.management.ManagementFactory").getMethod("getThreadMXBean").invoke(null);
        return (long) Class.forName("com.sun.management.ThreadMXBean").getMethod("getCurrentThreadAllocatedBytes")
                .invoke(mx);
    }

    private static LocatedInterpreter located(CapturedImage image) throws SpyglassException {
        try (ReplayMemory memory = new ReplayMemory(image.pid(), image.memory())) {
            return ImageReplay.locate(image, memory);
        }
    }

    /** Bytes of a frame the walk reads: up to the last of its link, code and instruction fields. */
    private static long frameExtent(Layout layout) {
        Field[] fields = layout.has(Field.IFRAME_PREVIOUS)
                ? new Field[] {Field.IFRAME_PREVIOUS, Field.IFRAME_EXECUTABLE, Field.IFRAME_INSTR_PTR}
                : new Field[] {Field.FRAME_BACK, Field.FRAME_CODE, Field.FRAME_LASTI};
        long max = 0;
        for (Field f : fields) {
            max = Math.max(max, layout.require(f));
        }
        return max + 8;
    }

    private static long unmappedAddress(MemoryImage memory) {
        for (long a = 0x7f00_dead_0000L; ; a += 1 << 20) {
            if (!memory.overlaps(a - (1 << 20), 2 << 20)) {
                return a;
            }
        }
    }

    @Test
    void imagesAreSmall() throws IOException {
        for (Path p : imageFiles()) {
            assertThat(Files.size(p)).as("%s", p.getFileName()).isLessThan(512L << 10);
        }
    }
}
