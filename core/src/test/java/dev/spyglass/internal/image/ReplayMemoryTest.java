package dev.spyglass.internal.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.junit.jupiter.api.Test;

import dev.spyglass.internal.os.MemoryFault;

/** {@link ReplayMemory} answers like {@code process_vm_readv}; {@link RecordingMemory} keeps what succeeded. */
class ReplayMemoryTest {

    private static MemoryImage image() {
        MemoryImage m = new MemoryImage();
        byte[] b = new byte[64];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) i;
        }
        m.put(0x1000, b);
        m.put(0x2000, b);
        return m;
    }

    @Test
    void readsFaultOutsideTheImage() throws Exception {
        try (Arena arena = Arena.ofConfined(); ReplayMemory mem = new ReplayMemory(1, image())) {
            MemorySegment dst = arena.allocate(16);
            mem.read(0x1008, dst);
            assertThat(dst.get(ValueLayout.JAVA_BYTE, 0)).isEqualTo((byte) 8);
            assertThatThrownBy(() -> mem.read(0x1038, dst)).isInstanceOfSatisfying(MemoryFault.class,
                    f -> assertThat(f.transferred()).isEqualTo(8));
            assertThat(mem.readPartial(0x1038, dst)).isEqualTo(8);
            assertThat(mem.readPartial(0x1040, dst)).isZero();
            assertThat(mem.readLong(0x1000)).isEqualTo(0x0706050403020100L);
            assertThat(mem.readInt(0x203c)).isEqualTo(0x3f3e3d3c);
            assertThatThrownBy(() -> mem.readLong(0x103c)).isInstanceOf(MemoryFault.class);
            assertThat(mem.syscalls()).isEqualTo(7);
        }
    }

    @Test
    void flushStopsAtTheFirstIncompleteRangeLikeTheKernel() throws Exception {
        try (Arena arena = Arena.ofConfined(); ReplayMemory mem = new ReplayMemory(1, image())) {
            MemorySegment buf = arena.allocate(64);
            mem.add(0x1000, buf, 0, 8);
            mem.add(0x2000, buf, 8, 8);
            mem.add(0x1030, buf, 16, 32); // 16 bytes past the end of the first range
            mem.add(0x2010, buf, 48, 8);
            assertThat(mem.pending()).isEqualTo(4);
            assertThat(mem.flush()).isEqualTo(2);
            assertThat(mem.pending()).isZero();
            assertThat(buf.get(ValueLayout.JAVA_BYTE, 48)).isZero(); // not read after the failure
            assertThat(mem.flush()).isZero();
            assertThat(mem.syscalls()).isEqualTo(1); // an empty flush makes no call
            mem.add(0x1000, buf);
            mem.clear();
            assertThat(mem.flush()).isZero();
        }
    }

    @Test
    void recordingKeepsOnlyWhatTheReadsReturned() throws Exception {
        try (Arena arena = Arena.ofConfined(); RecordingMemory rec = new RecordingMemory(new ReplayMemory(1, image()))) {
            MemorySegment buf = arena.allocate(64);
            rec.read(0x1000, buf.asSlice(0, 4));
            assertThat(rec.readPartial(0x1038, buf.asSlice(0, 16))).isEqualTo(8);
            rec.readLong(0x2020);
            rec.add(0x2000, buf, 0, 2);
            rec.add(0x3000, buf, 8, 8); // fails: recorded neither it nor the next
            rec.add(0x1010, buf, 16, 8);
            assertThat(rec.flush()).isEqualTo(1);
            assertThatThrownBy(() -> rec.read(0x1040, buf.asSlice(0, 4))).isInstanceOf(MemoryFault.class);
            rec.recording(false);
            rec.read(0x1020, buf.asSlice(0, 4));
            MemoryImage got = rec.image();
            assertThat(got.ranges()).extracting(MemoryImage.Range::address).containsExactly(0x1000L, 0x1038L,
                    0x2000L, 0x2020L);
            assertThat(got.byteCount()).isEqualTo(4 + 8 + 2 + 8);
            assertThat(got.getLong(0x2020)).isEqualTo(0x2726252423222120L);
            assertThat(rec.syscalls()).isEqualTo(6);
        }
    }
}
