package dev.spyglass.internal.os;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

/** {@code /proc/PID/statm}'s resident field, parsed and read through a kept descriptor. */
class ResidentMemoryTest {

    private static long parse(String text) {
        byte[] b = text.getBytes(StandardCharsets.US_ASCII);
        return ResidentMemory.parse(ByteBuffer.wrap(b), b.length);
    }

    @Test
    void parsesTheSecondFieldAsPages() {
        assertThat(parse("52153 5632 3328 1 0 1290 0\n")).isEqualTo(5632L * 4096);
        assertThat(parse("1 0 0 1 0 1 0\n")).isZero();
    }

    @Test
    void malformedTextIsMinusOne() {
        assertThat(parse("")).isEqualTo(-1);
        assertThat(parse("52153")).isEqualTo(-1);
        assertThat(parse("52153 x 3")).isEqualTo(-1);
        assertThat(parse("1 1234567890123456789 0")).isEqualTo(-1); // no overflow: at most 15 digits
    }

    @Test
    void readsThisProcessAsVmRssDoes() throws Exception {
        long pid = ProcessHandle.current().pid();
        try (ResidentMemory rss = ResidentMemory.open(pid)) {
            assertThat(rss).isNotNull();
            long first = rss.bytes();
            long vmRss = -1;
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    vmRss = Long.parseLong(line.substring(6).trim().split("\\s+")[0]) * 1024;
                }
            }
            long second = rss.bytes();
            assertThat(first).isPositive();
            // The JVM's RSS moves while it runs: VmRSS, read between the two, lies near them.
            assertThat(vmRss).isBetween(Math.min(first, second) - (64L << 20), Math.max(first, second) + (64L << 20));
        }
        assertThat(ResidentMemory.open(Long.MAX_VALUE)).isNull();
    }
}
