package dev.spyglass.internal.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.junit.jupiter.api.Test;

/**
 * The ring buffer parser on records laid out as the kernel writes them (perf_event.h): a record that
 * wraps past the end of the data area, LOST records, context markers, a malformed size. The real
 * kernel's records are read by {@link KernelCallchainsTest}.
 */
class PerfRingTest {
    static final long PAGE = 4096;
    static final long DATA = 2 * PAGE;
    static final long KERNEL = -128; // PERF_CONTEXT_KERNEL

    private final Arena arena = Arena.ofAuto();
    private final MemorySegment map = arena.allocate(PAGE + DATA, 4096);
    private long head;

    PerfRingTest() {
        map.set(ValueLayout.JAVA_LONG, PerfRing.DATA_OFFSET, PAGE);
        map.set(ValueLayout.JAVA_LONG, PerfRing.DATA_SIZE, DATA);
    }

    private void put(long value) {
        map.set(ValueLayout.JAVA_LONG, PAGE + (head & (DATA - 1)), value);
        head += 8;
    }

    private void sample(long time, long... callchain) {
        long size = 32 + 8L * callchain.length;
        put(PerfRing.PERF_RECORD_SAMPLE | (size << 48));
        put(42L | (43L << 32)); // pid, tid
        put(time);
        put(callchain.length);
        for (long ip : callchain) {
            put(ip);
        }
    }

    private void publish() {
        map.set(ValueLayout.JAVA_LONG, PerfRing.DATA_HEAD, head);
    }

    @Test
    void keepsTheNewestSampleAcrossTheEndOfTheRing() {
        PerfRing.Latest latest = new PerfRing.Latest(64);
        // Fill to 24 bytes before the end, consumed: the next record starts there and wraps.
        head = DATA - 24;
        map.set(ValueLayout.JAVA_LONG, PerfRing.DATA_TAIL, head);
        PerfRing ring = new PerfRing(-1, map, PAGE);
        sample(1000, KERNEL, 0xffffffff81000010L, 0xffffffff81000020L, 0xffffffff81000030L);
        publish();
        assertThat(ring.drain(latest)).isEqualTo(1);
        assertThat(latest.time).isEqualTo(1000);
        assertThat(latest.count).isEqualTo(3);
        assertThat(latest.ips).startsWith(0xffffffff81000010L, 0xffffffff81000020L, 0xffffffff81000030L);
        assertThat(map.get(ValueLayout.JAVA_LONG, PerfRing.DATA_TAIL)).as("data_tail").isEqualTo(head);

        // A user-mode sample (no kernel entries) then LOST, then a newer kernel one: the newest wins.
        sample(2000);
        put(PerfRing.PERF_RECORD_LOST | (24L << 48));
        put(7); // id
        put(5); // lost
        sample(3000, KERNEL, 0xffffffff81000040L);
        publish();
        assertThat(ring.drain(latest)).isEqualTo(3);
        assertThat(latest.time).isEqualTo(3000);
        assertThat(latest.count).isEqualTo(1);
        assertThat(latest.lost).isEqualTo(5);
        assertThat(latest.samples).isEqualTo(3);
        assertThat(latest.samplesWithKernel).isEqualTo(2);
        sample(4000);
        publish();
        ring.drain(latest);
        assertThat(latest.time).isEqualTo(4000);
        assertThat(latest.count).as("in user mode now").isZero();
    }

    @Test
    void boundsTheFramesKept() {
        PerfRing ring = new PerfRing(-1, map, PAGE);
        PerfRing.Latest latest = new PerfRing.Latest(4);
        long[] chain = new long[20];
        for (int i = 0; i < chain.length; i++) {
            chain[i] = 0xffffffff81000000L + i;
        }
        chain[0] = KERNEL;
        sample(5, chain);
        publish();
        ring.drain(latest);
        assertThat(latest.count).isEqualTo(4);
        assertThat(latest.ips).containsExactly(0xffffffff81000001L, 0xffffffff81000002L, 0xffffffff81000003L,
                0xffffffff81000004L);
    }

    @Test
    void aMalformedRecordSkipsWhatIsThereInsteadOfLooping() {
        PerfRing ring = new PerfRing(-1, map, PAGE);
        PerfRing.Latest latest = new PerfRing.Latest(64);
        put(PerfRing.PERF_RECORD_SAMPLE); // size 0
        put(0);
        sample(9, KERNEL, 0xffffffff81000000L);
        publish();
        ring.drain(latest);
        assertThat(latest.malformed).isEqualTo(1);
        assertThat(map.get(ValueLayout.JAVA_LONG, PerfRing.DATA_TAIL)).isEqualTo(head);
        // A callchain longer than its record: not read beyond the record.
        put(PerfRing.PERF_RECORD_SAMPLE | (40L << 48));
        put(0);
        put(10);
        put(1_000_000); // nr
        put(0xffffffff81000000L);
        publish();
        ring.drain(latest);
        assertThat(latest.malformed).isEqualTo(2);
        assertThat(latest.time).isNotEqualTo(10);
    }
}
