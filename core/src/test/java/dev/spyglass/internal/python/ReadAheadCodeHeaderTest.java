package dev.spyglass.internal.python;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import dev.spyglass.SamplingMode;
import dev.spyglass.SpyglassException;
import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.internal.image.CapturedImage;
import dev.spyglass.internal.image.ForwardingMemory;
import dev.spyglass.internal.image.MemoryImage;
import dev.spyglass.internal.image.ReplayMemory;

/**
 * A code object's header copied in a look's first call (the read-ahead) serves only frames copied in that
 * same call: a frame read later may run a code object made since at the address of a freed one. Seen live: a
 * sub-interpreter's {@code run_string} module took the address of a {@code .pth} line's module (3.8, 3.11,
 * 3.13), and the look named its line from the old line table, one look in ~60,000.
 *
 * <p>Replayed on the 3.11+ images: before the second look's first call, the code object of the first thread's
 * innermost frame that only it runs is overwritten with another code object's header, and the thread state's data-stack top is
 * moved past what is read ahead (so the walk must read the thread's frames itself, after that call); both are
 * put back right after it. The look must name the frames as the capture did.
 */
class ReadAheadCodeHeaderTest {

    static Stream<CapturedImage> images() throws Exception {
        return StackWalkReplayTest.images();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("images")
    void aFrameReadAfterTheFirstCallNeverMeetsAHeaderCopiedInIt(CapturedImage image) throws Exception {
        Assumptions.assumeTrue(ImageReplay.version(image).isAtLeast(3, 11), "frames in data-stack chunks are 3.11+");
        MemoryImage mem = image.memory().copy();
        try (ReplayMemory replay = new ReplayMemory(image.pid(), mem);
                HookedMemory memory = new HookedMemory(replay);
                StackReader reader = new StackReader(image.pid(), memory, ImageReplay.locate(image, replay), null)) {
            LocatedInterpreter loc = reader.interpreter();
            Layout layout = loc.layout();
            CapturedImage.Look first = ImageReplay.look(reader, memory);
            assertThat(first.threads()).isEqualTo(image.looks().get(0).threads());

            List<ImageReplay.Chain> chains = ImageReplay.chains(mem, loc);
            ImageReplay.Chain chain = chains.get(0);
            long execOff = layout.require(Field.IFRAME_EXECUTABLE);
            long tag = layout.has(Field.CONST_STACKREF_TAG_MASK) ? layout.offset(Field.CONST_STACKREF_TAG_MASK) : 0;
            List<Long> others = chains.stream().skip(1).flatMap(c -> codes(mem, c, execOff, tag).stream()).toList();
            // A code object only the first thread runs: the others' frames are copied in the first call, before
            // the headers, so in a real target they could not meet a header older than themselves.
            List<Long> own = codes(mem, chain, execOff, tag).stream().filter(c -> !others.contains(c)).toList();
            assertThat(own).as("code objects only the first thread runs").hasSizeGreaterThanOrEqualTo(2);
            long innermost = own.get(0);
            long other = own.get(own.size() - 1);
            long topAt = chain.tstate() + layout.require(Field.TSTATE_DATASTACK_TOP);
            long top = mem.getLong(topAt);

            memory.aroundNextFlush(() -> {
                swapWords(mem, innermost, other);
                mem.putLong(topAt, top + (64 << 10));
            }, () -> {
                swapWords(mem, innermost, other);
                mem.putLong(topAt, top);
            });
            CapturedImage.Look second = ImageReplay.look(reader, memory);
            assertThat(memory.hooked).as("the hook ran at the look's first call").isTrue();
            assertThat(second.threads()).isEqualTo(image.looks().get(1).threads());
        }
    }

    private static List<Long> codes(MemoryImage mem, ImageReplay.Chain chain, long execOff, long tag) {
        return chain.frames().stream().map(f -> mem.getLong(f + execOff) & ~tag)
                .filter(c -> c != 0 && mem.contains(c, 8)).distinct().toList();
    }

    /** Swaps the captured words of two code objects' first 512 bytes (their headers). */
    private static void swapWords(MemoryImage mem, long a, long b) {
        for (long off = 0; off < 512; off += 8) {
            if (mem.contains(a + off, 8) && mem.contains(b + off, 8)) {
                long w = mem.getLong(a + off);
                mem.putLong(a + off, mem.getLong(b + off));
                mem.putLong(b + off, w);
            }
        }
    }

    /** Replayed memory that runs one action before the next flush and one after it. */
    private static final class HookedMemory extends ForwardingMemory {
        private Runnable before;
        private Runnable after;
        boolean hooked;

        HookedMemory(ReplayMemory d) {
            super(d);
        }

        void aroundNextFlush(Runnable before, Runnable after) {
            this.before = before;
            this.after = after;
        }

        @Override
        public int flush() throws SpyglassException {
            Runnable b = before;
            Runnable a = after;
            before = null;
            after = null;
            if (b != null) {
                b.run();
                hooked = true;
            }
            try {
                return super.flush();
            } finally {
                if (a != null) {
                    a.run();
                }
            }
        }
    }
}
