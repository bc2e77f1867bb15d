package dev.spyglass.internal.leaks;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * What {@code munmap} and {@code mremap} do to the mappings counted, on call sequences written out by hand (the
 * real calls are {@code LeakTrackerMmapTest}'s): the table's surviving bytes must be the bytes still mapped.
 */
class MappingsTest {
    private static final long K = 1024;
    private final LiveAllocations table = new LiveAllocations(1000);
    private final Mappings m = new Mappings(table);
    private final List<String> events = new ArrayList<>();
    private final Mappings.Sink sink = (a, address, size, stack) ->
            events.add((a ? "+" : "-") + Long.toHexString(address) + ":" + size / K + "K@" + stack);

    private long surviving(int stack) {
        table.snapshot(0);
        return table.rank().stream().filter(r -> r.stack() == stack).mapToLong(LiveAllocations.Ranked::survivingBytes)
                .sum();
    }

    @Test
    void aTailUnmappedLeavesTheHead() {
        m.mapped(0x100000, 256 * K, 0, sink);
        m.unmapped(0x100000 + 128 * K, 128 * K, sink);
        assertThat(surviving(0)).isEqualTo(128 * K);
        assertThat(events).containsExactly("+100000:256K@0", "-100000:256K@0", "+100000:128K@0");
        m.unmapped(0x100000, 128 * K, sink);
        assertThat(surviving(0)).isZero();
        assertThat(m.count()).isZero();
    }

    @Test
    void aHoleSplitsTheMappingAndBothPartsGoLater() {
        m.mapped(0x100000, 256 * K, 3, sink);
        m.unmapped(0x100000 + 64 * K, 64 * K, sink);
        assertThat(surviving(3)).isEqualTo(192 * K);
        assertThat(m.count()).isEqualTo(2);
        m.unmapped(0x100000 + 128 * K, 128 * K, sink); // the tail part, whole
        assertThat(surviving(3)).isEqualTo(64 * K);
        m.unmapped(0x0f0000, 1024 * K, sink); // a range covering what is left, starting below it
        assertThat(surviving(3)).isZero();
        assertThat(table.allocations()).as("a cut is no allocation").isEqualTo(1);
    }

    @Test
    void aLengthNotAPageMultipleCoversItsLastPage() {
        m.mapped(0x100000, 10_000, 0, sink); // three pages
        m.unmapped(0x100000 + 8192, 1, sink); // the third page
        assertThat(surviving(0)).isEqualTo(8192);
        m.unmapped(0x100000 + 4096, 4096, sink);
        assertThat(surviving(0)).isEqualTo(4096);
    }

    @Test
    void anMremapMovesTheMappingUnderTheCallersStack() {
        m.mapped(0x100000, 64 * K, 0, sink);
        m.remapped(0x100000, 64 * K, 1, 0x800000, 576 * K, 1, sink);
        assertThat(surviving(0)).isZero();
        assertThat(surviving(1)).isEqualTo(576 * K);
        m.unmapped(0x800000 + 128 * K, 448 * K, sink);
        m.unmapped(0x800000, 128 * K, sink);
        assertThat(surviving(1)).isZero();
        assertThat(m.count()).isZero();
    }

    @Test
    void anMremapOfPartOfAMappingKeepsTheRest() {
        m.mapped(0x100000, 256 * K, 0, sink);
        m.remapped(0x100000 + 192 * K, 64 * K, 1, 0x800000, 128 * K, 0, sink); // the last 64 KiB moved and grown
        assertThat(surviving(0)).isEqualTo(192 * K + 128 * K);
        assertThat(m.count()).isEqualTo(2);
    }

    @Test
    void dontUnmapKeepsTheOldRange() {
        m.mapped(0x100000, 64 * K, 0, sink);
        m.remapped(0x100000, 64 * K, Mappings.MREMAP_DONTUNMAP | 1, 0x800000, 64 * K, 0, sink);
        assertThat(surviving(0)).isEqualTo(128 * K);
    }

    @Test
    void unmappingsAndRemapsOfOtherMemoryAreIgnored() {
        m.mapped(0x100000, 64 * K, 0, sink);
        m.unmapped(0x200000, 1024 * K, sink); // an arena's, the C library's own
        m.unmapped(0x100000 + 64 * K, 64 * K, sink); // just past it
        m.remapped(0x300000, 64 * K, 1, 0x900000, 128 * K, 1, sink);
        assertThat(surviving(0)).isEqualTo(64 * K);
        assertThat(surviving(1)).isZero();
        assertThat(events).containsExactly("+100000:64K@0");
    }

    @Test
    void aNewMappingOverACountedOneUnmappedUnseenReplacesIt() {
        m.mapped(0x100000, 256 * K, 0, sink); // then unmapped by a raw system call, not seen
        m.mapped(0x100000 + 128 * K, 64 * K, 1, sink);
        assertThat(surviving(0)).isEqualTo(128 * K + 64 * K);
        assertThat(surviving(1)).isEqualTo(64 * K);
    }
}
