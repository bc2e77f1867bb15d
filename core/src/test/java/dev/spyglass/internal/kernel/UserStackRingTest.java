package dev.spyglass.internal.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.junit.jupiter.api.Test;

/**
 * The user-stack record parser on records laid out as the kernel writes them (perf_event.h,
 * IDENTIFIER | TID | TIME | REGS_USER | STACK_USER): the snapshot is the newest record before the bound,
 * its stack bytes copied across the end of the ring, a LOST or THROTTLE record or a ring with less room
 * than a record marks it as possibly not the newest, malformed sizes are skipped. The kernel's own records
 * are read by {@code NonStopNativeFramesTest}.
 */
class UserStackRingTest {
    static final long PAGE = 4096;
    static final long DATA = 16 * PAGE;
    static final int STACK = 4096;
    static final long CLOCK_ID = 11;
    static final long SWITCH_ID = 22;

    private final Arena arena = Arena.ofAuto();
    private final MemorySegment map = arena.allocate(PAGE + DATA, 4096);
    private long head;

    UserStackRingTest() {
        map.set(ValueLayout.JAVA_LONG, PerfRing.DATA_OFFSET, PAGE);
        map.set(ValueLayout.JAVA_LONG, PerfRing.DATA_SIZE, DATA);
    }

    private UserStackRing ring(long tail) {
        head = tail;
        map.set(ValueLayout.JAVA_LONG, PerfRing.DATA_TAIL, tail);
        return new UserStackRing(-1, -1, SWITCH_ID, map, PAGE, STACK, arena);
    }

    private void put(long value) {
        map.set(ValueLayout.JAVA_LONG, PAGE + (head & (DATA - 1)), value);
        head += 8;
    }

    /** A sample whose stack is {@code words} 8-byte values {@code fill + i}, {@code dyn} of them copied. */
    private void sample(long id, long time, long rsp, int words, int dyn, long fill) {
        long size = 8 + 8 + 8 + 8 + 8 + 24 + 8 + 8L * words + (words > 0 ? 8 : 0);
        put(UserStackRing.PERF_RECORD_SAMPLE | (size << 48));
        put(id);
        put(42L | (43L << 32)); // pid, tid
        put(time);
        put(2); // PERF_SAMPLE_REGS_ABI_64
        put(0x7ffd0000L); // bp
        put(rsp); // sp
        put(0x401000L + time); // ip
        put(8L * words);
        for (int i = 0; i < words; i++) {
            put(fill + i);
        }
        if (words > 0) {
            put(8L * dyn);
        }
    }

    private void lost(long n) {
        put(UserStackRing.PERF_RECORD_LOST | (24L << 48));
        put(CLOCK_ID);
        put(n);
    }

    private void publish() {
        map.set(ValueLayout.JAVA_LONG, PerfRing.DATA_HEAD, head);
    }

    @Test
    void theSnapshotIsTheNewestRecordBeforeTheBoundItsStackCopiedAcrossTheRingsEnd() {
        UserStackRing r = ring(DATA - 80); // the stack data of the first record wraps past the end
        sample(SWITCH_ID, 100, 0x7ffc0000L, 64, 64, 1000);
        sample(CLOCK_ID, 200, 0x7ffc0100L, 64, 64, 2000);
        sample(CLOCK_ID, 300, 0x7ffc0200L, 64, 64, 3000); // at or after the bound: not the snapshot
        publish();
        r.drain(300);
        assertThat(r.time).isEqualTo(200);
        assertThat(r.switchOut).isFalse();
        assertThat(r.usable).isTrue();
        assertThat(r.lostSince).isFalse();
        assertThat(r.rsp).isEqualTo(0x7ffc0100L);
        assertThat(r.rip).isEqualTo(0x401000L + 200);
        assertThat(r.stackLength).isEqualTo(64 * 8);
        for (int i = 0; i < 64; i++) {
            assertThat(r.stack.get(ValueLayout.JAVA_LONG, 8L * i)).isEqualTo(2000 + i);
        }
        assertThat(r.samples).isEqualTo(3);
        assertThat(map.get(ValueLayout.JAVA_LONG, PerfRing.DATA_TAIL)).as("data_tail").isEqualTo(head);

        // A ring whose first record wraps in the middle of its stack: copied in two pieces.
        UserStackRing w = ring(DATA - 200);
        sample(SWITCH_ID, 500, 0x7ffc0300L, 64, 40, 5000);
        publish();
        w.drain(1000);
        assertThat(w.switchOut).isTrue();
        assertThat(w.stackLength).as("dyn_size: what the kernel could copy").isEqualTo(40 * 8);
        for (int i = 0; i < 40; i++) {
            assertThat(w.stack.get(ValueLayout.JAVA_LONG, 8L * i)).isEqualTo(5000 + i);
        }
    }

    @Test
    void lostOrThrottledRecordsAfterTheSnapshotMarkItUntilANewerOne() {
        UserStackRing r = ring(0);
        sample(SWITCH_ID, 100, 0x7ffc0000L, 16, 16, 0);
        lost(3);
        publish();
        r.drain(1000);
        assertThat(r.time).isEqualTo(100);
        assertThat(r.lostSince).isTrue();
        assertThat(r.lost).isEqualTo(3);
        sample(SWITCH_ID, 200, 0x7ffc0000L, 16, 16, 0);
        publish();
        r.drain(1000);
        assertThat(r.lostSince).as("a newer snapshot after the loss").isFalse();
        // Lost before a record newer than the bound: that record is not the snapshot, the loss counts.
        lost(1);
        sample(CLOCK_ID, 5000, 0x7ffc0000L, 16, 16, 0);
        publish();
        r.drain(1000);
        assertThat(r.time).isEqualTo(200);
        assertThat(r.lostSince).isTrue();
        sample(CLOCK_ID, 1500, 0x7ffc0000L, 16, 16, 0);
        put(5L | (48L << 48)); // PERF_RECORD_THROTTLE: time, id, stream_id, sample_id
        put(1600);
        put(CLOCK_ID);
        put(0);
        put(0);
        put(0);
        publish();
        r.drain(2000);
        assertThat(r.time).isEqualTo(1500);
        assertThat(r.lostSince).as("throttled after the snapshot").isTrue();
    }

    @Test
    void aRingWithLessRoomThanARecordMayHaveDroppedNewerOnesUnmarked() {
        UserStackRing r = ring(0);
        int words = STACK / 8;
        long record = 8 * 8 + STACK + 8 + 24;
        long fits = DATA / record;
        for (int i = 0; i < fits; i++) {
            sample(SWITCH_ID, 100 + i, 0x7ffc0000L, words, words, i);
        }
        publish();
        r.drain(10_000);
        assertThat(r.time).isEqualTo(100 + fits - 1);
        assertThat(r.lostSince).as("the kernel writes LOST only once there is room again").isTrue();
        sample(SWITCH_ID, 900, 0x7ffc0000L, words, words, 0);
        publish();
        r.drain(10_000);
        assertThat(r.lostSince).isFalse();
    }

    @Test
    void malformedSizesAndRecordsWithoutUserRegistersAreNotSnapshots() {
        UserStackRing r = ring(0);
        sample(SWITCH_ID, 100, 0x7ffc0000L, 16, 16, 0);
        // abi 0 (no user registers: a thread leaving): newer, but not usable.
        put(UserStackRing.PERF_RECORD_SAMPLE | (56L << 48));
        put(CLOCK_ID);
        put(0);
        put(150);
        put(0); // abi NONE
        put(0); // size 0: no dyn_size
        put(0); // padding to 56
        publish();
        r.drain(1000);
        assertThat(r.time).isEqualTo(150);
        assertThat(r.usable).isFalse();
        // A size that is not a multiple of 8: everything there is skipped, the snapshot marked.
        put(UserStackRing.PERF_RECORD_SAMPLE | (13L << 48));
        put(0);
        publish();
        r.drain(1000);
        assertThat(r.malformed).isEqualTo(1);
        assertThat(r.lostSince).isTrue();
        assertThat(map.get(ValueLayout.JAVA_LONG, PerfRing.DATA_TAIL)).isEqualTo(head);
        // A stack size larger than the copy: not usable, counted.
        long size = 8 + 8 + 8 + 8 + 8 + 24 + 8 + 8;
        put(UserStackRing.PERF_RECORD_SAMPLE | (size << 48));
        put(CLOCK_ID);
        put(0);
        put(160);
        put(2);
        put(1);
        put(2);
        put(3);
        put(1L << 40); // data size far beyond the record
        put(0);
        publish();
        r.drain(1000);
        assertThat(r.time).isEqualTo(160);
        assertThat(r.usable).isFalse();
        assertThat(r.malformed).isEqualTo(2);
    }
}
