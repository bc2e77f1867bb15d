package dev.spyglass.internal.python;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import dev.spyglass.cpython.abi.Field;
import dev.spyglass.internal.image.CapturedImage;
import dev.spyglass.internal.image.MemoryImage;
import dev.spyglass.internal.image.ReplayMemory;

/**
 * CPython 2.7 – 3.10 reuse frame objects across threads, so a walk can cross into another thread's frames
 * ({@link FrameOwners}); {@code FrameReuseAcrossThreadsTest} races that on live targets, where it happens once in
 * tens of thousands of stacks. Here the crossing is made on purpose between two looks of a captured image (two threads
 * parked at known stacks): a thread state's {@code frame} is pointed at the other thread's top frame, as a read that
 * met a frame the other thread had just taken would see it. The look after must not show one thread's stack under the
 * other: the walk that crossed ends at a frame that was the other thread's outermost at the previous look.
 */
class FrameOwnersReplayTest {

    static Stream<CapturedImage> linkedFrameImages() throws Exception {
        return StackWalkReplayTest.images().filter(i -> !ImageReplay.version(i).isAtLeast(3, 11));
    }

    /** A writable copy of {@code image}'s memory, replayed through a fresh reader, with its two threads' chains. */
    private record Replay(MemoryImage memory, ReplayMemory replay, StackReader reader, LocatedInterpreter loc,
            List<ImageReplay.Chain> chains) implements AutoCloseable {
        static Replay of(CapturedImage image) throws Exception {
            MemoryImage memory = image.memory().copy();
            ReplayMemory replay = new ReplayMemory(image.pid(), memory);
            LocatedInterpreter loc = ImageReplay.locate(image, replay);
            List<ImageReplay.Chain> chains = ImageReplay.chains(memory, loc);
            assertThat(chains).as("threads in the image").hasSizeGreaterThanOrEqualTo(2);
            return new Replay(memory, replay, new StackReader(image.pid(), replay, loc, null), loc, chains);
        }

        @Override
        public void close() {
            reader.close();
            replay.close();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("linkedFrameImages")
    void aThreadStateThatLeadsToTheOtherThreadsFramesTearsOnlyThatThread(CapturedImage image) throws Exception {
        try (Replay r = Replay.of(image)) {
            MemoryImage memory = r.memory();
            ReplayMemory replay = r.replay();
            StackReader reader = r.reader();
            LocatedInterpreter loc = r.loc();
            List<ImageReplay.Chain> chains = r.chains();
            CapturedImage.Look first = ImageReplay.look(reader, replay);
            assertThat(first.threads()).isEqualTo(image.looks().get(0).threads());

            ImageReplay.Chain a = chains.get(0);
            ImageReplay.Chain b = chains.get(1);
            memory.putLong(b.tstate() + loc.layout().require(Field.TSTATE_FRAME), a.frames().get(0));
            CapturedImage.Look second = ImageReplay.look(reader, replay);
            List<String> reasons = ImageReplay.tornReasons(reader);
            for (int i = 0; i < second.threads().size(); i++) {
                CapturedImage.ThreadLook t = second.threads().get(i);
                if (t.pythonThreadId() == b.pythonThreadId()) {
                    assertThat(t.torn()).as("thread %d, led to the other's frames: torn (frames %s)",
                            t.pythonThreadId(), t.frames()).isTrue();
                    assertThat(reasons.get(i)).contains("another thread's at the previous look");
                } else {
                    assertThat(t).as("the thread whose frames they are keeps them")
                            .isEqualTo(first.threads().get(i));
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("linkedFrameImages")
    void twoThreadsThatSwappedFramesAreBothTorn(CapturedImage image) throws Exception {
        try (Replay r = Replay.of(image)) {
            MemoryImage memory = r.memory();
            ReplayMemory replay = r.replay();
            StackReader reader = r.reader();
            LocatedInterpreter loc = r.loc();
            List<ImageReplay.Chain> chains = r.chains();
            ImageReplay.look(reader, replay);

            // Each walk ends at the other's outermost frame: no two walks of the look share one (the within-look
            // claim sees nothing), as in CI on 2.7 (5 of 57,520 stacks, 6 Dec 2026).
            long frameOff = loc.layout().require(Field.TSTATE_FRAME);
            ImageReplay.Chain a = chains.get(0);
            ImageReplay.Chain b = chains.get(1);
            memory.putLong(a.tstate() + frameOff, b.frames().get(0));
            memory.putLong(b.tstate() + frameOff, a.frames().get(0));
            CapturedImage.Look swapped = ImageReplay.look(reader, replay);
            for (CapturedImage.ThreadLook t : swapped.threads()) {
                if (t.pythonThreadId() == a.pythonThreadId() || t.pythonThreadId() == b.pythonThreadId()) {
                    assertThat(t.torn()).as("thread %d, swapped: torn (frames %s)", t.pythonThreadId(), t.frames())
                            .isTrue();
                }
            }
        }
    }
}
