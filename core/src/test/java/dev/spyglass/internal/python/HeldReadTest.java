package dev.spyglass.internal.python;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import dev.spyglass.SpyglassException;
import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.internal.image.CapturedImage;
import dev.spyglass.internal.image.ForwardingMemory;
import dev.spyglass.internal.image.MemoryImage;
import dev.spyglass.internal.image.ReplayMemory;

/**
 * Issue 11's stop time: threads held for native frames wait for the look's first read only, and that read
 * holds what changes under a running thread (interpreter, thread states, data-stack chunks), not the code
 * headers, which are read after the hook that lets the threads go (a held 3.12 look went from 13 ranges to 5).
 * Replayed on the captured images: the hook runs after a read with no code header in it, the headers of the
 * frames' code objects come after it, the second hook only then, and the look is the capture's.
 */
class HeldReadTest {

    static Stream<CapturedImage> images() throws Exception {
        return StackWalkReplayTest.images();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("images")
    void theHeldReadHoldsNoCodeHeaderAndTheHeadersFollowTheRelease(CapturedImage image) throws Exception {
        Assumptions.assumeTrue(ImageReplay.version(image).isAtLeast(3, 11), "frames in data-stack chunks are 3.11+");
        MemoryImage mem = image.memory().copy();
        try (ReplayMemory replay = new ReplayMemory(image.pid(), mem);
                RangeLog memory = new RangeLog(replay);
                StackReader reader = new StackReader(image.pid(), memory, ImageReplay.locate(image, replay), null)) {
            LocatedInterpreter loc = reader.interpreter();
            Layout layout = loc.layout();
            ImageReplay.look(reader, memory); // the first look finds what the second reads ahead
            long execOff = layout.require(Field.IFRAME_EXECUTABLE);
            long tag = layout.has(Field.CONST_STACKREF_TAG_MASK) ? layout.offset(Field.CONST_STACKREF_TAG_MASK) : 0;
            List<Long> codes = ImageReplay.chains(mem, loc).stream().flatMap(c -> c.frames().stream())
                    .map(f -> mem.getLong(f + execOff) & ~tag).filter(c -> c != 0 && mem.contains(c, 8)).distinct()
                    .toList();
            assertThat(codes).as("code objects of the captured frames").isNotEmpty();

            memory.flushes.clear();
            int[] flushesAtRelease = {-1};
            int[] flushesAtRead = {-1};
            reader.readAhead().afterFlush(() -> flushesAtRelease[0] = memory.flushes.size(),
                    () -> flushesAtRead[0] = memory.flushes.size());
            CapturedImage.Look second = ImageReplay.look(reader, memory);
            assertThat(second.threads()).isEqualTo(image.looks().get(1).threads());

            assertThat(flushesAtRelease[0]).as("the release ran after the look's first read").isEqualTo(1);
            List<Long> held = memory.flushes.get(0);
            List<Long> headers = memory.flushes.get(1);
            assertThat(flushesAtRead[0]).as("the second hook ran after the headers' read").isEqualTo(2);
            assertThat(headers).as("the read right after the release: code headers").isNotEmpty();
            assertThat(headerRanges(headers, codes)).as("the read right after the release: code headers only")
                    .isEqualTo(headers.size());
            assertThat(held).as("the held read: none of those headers").doesNotContainAnyElementsOf(headers);
        }
    }

    /** How many of {@code ranges} start in a code object's header (its first 512 bytes: fields, not the object). */
    private static long headerRanges(List<Long> ranges, List<Long> codes) {
        return ranges.stream().filter(a -> codes.stream().anyMatch(c -> a >= c && a < c + 512)).count();
    }

    /** Replayed memory that keeps, per flush, the addresses of the ranges it read. */
    private static final class RangeLog extends ForwardingMemory {
        private final List<Long> queued = new ArrayList<>();
        final List<List<Long>> flushes = new ArrayList<>();

        RangeLog(ReplayMemory d) {
            super(d);
        }

        @Override
        public int flush() throws SpyglassException {
            flushes.add(List.copyOf(queued));
            queued.clear();
            return super.flush();
        }

        @Override
        public int add(long address, MemorySegment dst) {
            queued.add(address);
            return super.add(address, dst);
        }

        @Override
        public int add(long address, MemorySegment buffer, long offset, long length) {
            queued.add(address);
            return super.add(address, buffer, offset, length);
        }

        @Override
        public void clear() {
            queued.clear();
            super.clear();
        }
    }
}
