package dev.spyglass.internal.python;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import dev.spyglass.SamplingMode;
import dev.spyglass.internal.image.CapturedImage;
import dev.spyglass.internal.image.ReplayMemory;

/**
 * The per-era frame walkers over memory captured from real interpreters (see
 * {@link StackWalkReplayTest} for the images): the layout picks the era's walker, and the walked stack
 * keeps where each C-level call of the evaluation loop starts. The images' main thread is
 * {@code <module> → outer → middle → inner → leaf_sleep}, all Python-to-Python calls: on ≤3.10 each
 * is a call of the evaluation loop of its own, on 3.11+ only {@code <module>} starts one.
 */
class FrameWalkerReplayTest {

    static Stream<CapturedImage> images() throws Exception {
        return StackWalkReplayTest.images();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("images")
    void theLayoutPicksItsErasWalker(CapturedImage image) throws Exception {
        try (ReplayMemory memory = new ReplayMemory(image.pid(), image.memory()); Arena arena = Arena.ofConfined()) {
            LocatedInterpreter loc = ImageReplay.locate(image, memory);
            ReaderSpans spans = new ReaderSpans(loc.layout(), loc.version().isAtLeast(3, 11));
            try (ReadAhead ahead = new ReadAhead(memory, loc.layout(), spans, !loc.version().isAtLeast(3, 11))) {
                FrameWalker walker = FrameWalker.forLayout(loc.layout(), memory, spans, ahead, arena);
                assertThat(walker).isInstanceOf(loc.version().isAtLeast(3, 11) ? ChunkFrameWalker.class
                        : LinkedFrameWalker.class);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("images")
    void theMainThreadsEvalLoopEntriesAreKept(CapturedImage image) throws Exception {
        try (ReplayMemory memory = new ReplayMemory(image.pid(), image.memory());
                StackReader reader = new StackReader(image.pid(), memory, ImageReplay.locate(image, memory), null)) {
            reader.read(SamplingMode.WALL);
            ThreadRecord main = null;
            for (int i = 0; i < reader.count(); i++) {
                ThreadRecord r = reader.thread(i);
                if (r.depth() > 0 && r.frames[0].function().equals("leaf_sleep")
                        && r.frames[r.depth() - 1].function().equals("<module>")) {
                    main = r;
                }
            }
            assertThat(main).as("the main thread, parked in leaf_sleep").isNotNull();
            List<String> functions = new ArrayList<>();
            List<String> entries = new ArrayList<>();
            for (int i = 0; i < main.depth(); i++) {
                functions.add(main.frames[i].function());
                if (main.entryFrame(i)) {
                    entries.add(main.frames[i].function());
                }
            }
            assertThat(functions).containsExactly("leaf_sleep", "inner", "middle", "outer", "<module>");
            if (ImageReplay.version(image).isAtLeast(3, 11)) {
                assertThat(entries).containsExactly("<module>");
            } else {
                assertThat(entries).containsExactlyElementsOf(functions);
            }
        }
    }
}
