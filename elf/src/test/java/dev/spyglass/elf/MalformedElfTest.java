package dev.spyglass.elf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.TreeSet;
import java.util.stream.IntStream;

import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Corrupt files: each must give an {@link ElfFormatException} naming the file, the problem and the
 * offset, and never an exception from inside, an endless loop or a huge allocation.
 */
class MalformedElfTest {

    private static final String NAME = "bad.so";

    private static ElfFile parse(byte[] bytes) throws ElfFormatException {
        return ElfFile.of(MemorySegment.ofArray(bytes), NAME);
    }

    private static AbstractThrowableAssert<?, ? extends Throwable> assertBad(byte[] bytes, String fragment) {
        return assertThatThrownBy(() -> parse(bytes)).isInstanceOf(ElfFormatException.class).hasMessageStartingWith(NAME + ": ")
                .hasMessageContaining(fragment);
    }

    private static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static TestElfBuilder builder() {
        return TestElfBuilder.typical();
    }

    // --- header -------------------------------------------------------------------------------------

    @Test
    void badMagic() {
        byte[] b = builder().build();
        b[1] = 'X';
        assertBad(b, "bad magic").satisfies(e -> assertThat(((ElfFormatException) e).offset()).isZero());
        assertBad(new byte[0], "bad magic");
        assertBad(new byte[] {0x7f, 'E', 'L'}, "bad magic");
        assertBad("#!/bin/sh\necho hi\n".getBytes(), "bad magic");
    }

    @Test
    void thirtyTwoBitElfIsRejectedClearly() {
        byte[] b = builder().build();
        b[4] = 1;
        assertBad(b, "32-bit ELF not supported").satisfies(e -> assertThat(((ElfFormatException) e).offset()).isEqualTo(4));
    }

    @Test
    void bigEndianAndInvalidClassOrEncoding() {
        byte[] b = builder().build();
        b[5] = 2;
        assertBad(b, "big-endian ELF not supported");
        b = builder().build();
        b[4] = 7;
        assertBad(b, "invalid ELF class 7");
        b = builder().build();
        b[5] = 0;
        assertBad(b, "invalid ELF data encoding 0");
        b = builder().build();
        b[6] = 2;
        assertBad(b, "unsupported ELF version");
    }

    @Test
    void otherMachinesAreRejected() {
        byte[] b = builder().build();
        le(b).putShort(18, (short) 40); // EM_ARM
        assertBad(b, "machine 40 not supported");
    }

    @Test
    void wrongHeaderEntrySizes() {
        byte[] b = builder().build();
        le(b).putShort(54, (short) 32);
        assertBad(b, "program header entry size 32");
        b = builder().build();
        le(b).putShort(58, (short) 40);
        assertBad(b, "section header entry size 40");
    }

    // --- truncation -----------------------------------------------------------------------------------

    @Test
    void truncatedAtEveryHeaderAndSectionBoundary() throws ElfFormatException {
        TestElfBuilder builder = builder();
        byte[] full = builder.build();
        ElfFile whole = parse(full);
        TreeSet<Integer> cuts = new TreeSet<>(Arrays.asList(0, 1, 3, 4, 5, 6, 7, 16, 18, 24, 32, 40, 48, 56, 60, 62, 63, 64));
        for (int i = 0; i <= whole.programHeaders().size(); i++) {
            cuts.add(64 + 56 * i);
            cuts.add(64 + 56 * i - 1);
        }
        for (Section s : whole.sections()) {
            cuts.add((int) s.offset());
            cuts.add((int) (s.offset() + s.size()) - 1);
            cuts.add(builder.shoff() + 64 * s.index());
            cuts.add(builder.shoff() + 64 * s.index() + 32);
        }
        cuts.add(full.length - 1);
        for (int cut : cuts) {
            if (cut < 0 || cut >= full.length) {
                continue;
            }
            byte[] truncated = Arrays.copyOf(full, cut);
            assertThatThrownBy(() -> parse(truncated)).as("truncated to %d of %d bytes", cut, full.length)
                    .isInstanceOf(ElfFormatException.class).hasMessageStartingWith(NAME + ": ");
        }
    }

    @Test
    void truncatedRealInterpreterAtEveryHeaderBoundary() throws IOException {
        Path exe = Path.of("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isReadable(exe), "no " + exe);
        byte[] full = Files.readAllBytes(exe);
        TreeSet<Long> cuts = new TreeSet<>();
        try (ElfFile whole = ElfFile.open(exe)) {
            long shoff = le(full).getLong(40);
            for (int i = 0; i <= whole.programHeaders().size(); i++) {
                cuts.add(64L + 56L * i);
            }
            for (Section s : whole.sections()) {
                cuts.add(s.offset());
                cuts.add(s.offset() + s.size() - 1);
                cuts.add(shoff + 64L * s.index());
            }
        }
        for (long cut : cuts) {
            if (cut <= 0 || cut >= full.length) {
                continue;
            }
            byte[] truncated = Arrays.copyOf(full, (int) cut);
            assertThatThrownBy(() -> parse(truncated)).as("truncated to %d of %d bytes", cut, full.length)
                    .isInstanceOf(ElfFormatException.class).hasMessageContaining("offset 0x");
        }
    }

    @Test
    void truncatedFileWithoutSectionHeadersFailsOnItsSegments() throws ElfFormatException {
        TestElfBuilder builder = builder().withoutSectionHeaders();
        byte[] full = builder.build();
        int dynamicEnd = builder.sectionOffset(TestElfBuilder.DYNAMIC) + 16 * TestElfBuilder.DYNAMIC_ENTRIES;
        for (int cut : new int[] {64 + 56 * 3 - 1, builder.sectionOffset(TestElfBuilder.NOTE) + 5, dynamicEnd - 1}) {
            assertThatThrownBy(() -> parse(Arrays.copyOf(full, cut))).as("truncated to %d", cut).isInstanceOf(ElfFormatException.class);
        }
        assertThat(parse(full).soname()).contains("libtest.so.1");
    }

    // --- sections -------------------------------------------------------------------------------------

    @Test
    void sectionOffsetPastTheEnd() {
        TestElfBuilder builder = builder();
        byte[] b = builder.build();
        le(b).putLong(builder.sectionHeaderOffset(TestElfBuilder.RODATA) + 24, 0x7fff_ffff_0000L);
        assertBad(b, "section [7] '.rodata'").hasMessageContaining("extends past the end of the file");
    }

    @Test
    void sectionSizeThatOverflowsOffsetPlusSize() {
        TestElfBuilder builder = builder();
        byte[] b = builder.build();
        le(b).putLong(builder.sectionHeaderOffset(TestElfBuilder.RODATA) + 32, -8L);
        assertBad(b, "extends past the end of the file");
    }

    @Test
    void sectionHeaderTablePastTheEnd() {
        byte[] b = builder().build();
        le(b).putLong(40, b.length - 64L);
        assertBad(b, "section header table");
    }

    @Test
    void sectionNameTableIndexOutOfRange() {
        byte[] b = builder().build();
        le(b).putShort(62, (short) 200);
        assertBad(b, "section name table index 200");
    }

    @Test
    void sectionNameTableWithoutTerminator() {
        TestElfBuilder builder = builder();
        byte[] b = builder.build();
        int shstr = builder.sectionOffset(TestElfBuilder.SHSTRTAB);
        int size = (int) le(b).getLong(builder.sectionHeaderOffset(TestElfBuilder.SHSTRTAB) + 32);
        b[shstr + size - 1] = 'x';
        assertBad(b, "not NUL-terminated");
    }

    @Test
    void sectionNameIndexOutsideTheTable() {
        TestElfBuilder builder = builder();
        byte[] b = builder.build();
        le(b).putInt(builder.sectionHeaderOffset(TestElfBuilder.TEXT), 0x7fff_0000);
        assertBad(b, "name of section 6").hasMessageContaining("outside the string table");
    }

    @Test
    void linkToANonexistentSection() {
        TestElfBuilder builder = builder();
        byte[] b = builder.build();
        le(b).putInt(builder.sectionHeaderOffset(TestElfBuilder.SYMTAB) + 40, 99);
        assertBad(b, "links to section 99");
    }

    @Test
    void extendedSectionCountOverTheLimit() {
        TestElfBuilder builder = builder();
        byte[] b = builder.build();
        le(b).putShort(60, (short) 0); // e_shnum 0: the count is in section 0's sh_size
        le(b).putLong(builder.shoff() + 32, 1L << 40);
        assertBad(b, "section count 1099511627776 exceeds the limit");
    }

    @Test
    void extendedProgramHeaderCountOverTheLimit() {
        TestElfBuilder builder = builder();
        byte[] b = builder.build();
        le(b).putShort(56, (short) 0xffff); // PN_XNUM: the count is in section 0's sh_info
        le(b).putInt(builder.shoff() + 44, 0x7fff_ffff);
        assertBad(b, "program header count 2147483647 exceeds the limit");
    }

    @Test
    void programHeaderTablePastTheEnd() {
        byte[] b = builder().build();
        le(b).putLong(32, b.length - 10L);
        assertBad(b, "program header table");
    }

    // --- symbols ----------------------------------------------------------------------------------------

    @Test
    void symbolStringTableWithoutTerminator() {
        TestElfBuilder builder = builder();
        byte[] b = builder.build();
        int strtab = builder.sectionOffset(TestElfBuilder.STRTAB);
        int size = (int) le(b).getLong(builder.sectionHeaderOffset(TestElfBuilder.STRTAB) + 32);
        b[strtab + size - 1] = 'x';
        assertBad(b, "no NUL terminator inside its string table");
    }

    @Test
    void symbolNameIndexOutsideItsStringTable() {
        TestElfBuilder builder = builder();
        byte[] b = builder.build();
        le(b).putInt(builder.sectionOffset(TestElfBuilder.DYNSYM) + 24 * 2, 0xffff_fff0);
        assertBad(b, "symbol table [3] '.dynsym' entry 2").hasMessageContaining("outside its string table");
    }

    @Test
    void symbolCountOverflow() {
        TestElfBuilder builder = builder();
        byte[] b = builder.build();
        le(b).putLong(builder.sectionHeaderOffset(TestElfBuilder.DYNSYM) + 32, 0xffff_ffff_ffff_ffe8L);
        assertBad(b, "'.dynsym'");
        byte[] c = builder.build();
        le(c).putLong(builder.sectionHeaderOffset(TestElfBuilder.SYMTAB) + 32, 24L * Integer.MAX_VALUE);
        assertBad(c, "'.symtab'");
    }

    @Test
    void symbolEntrySizeMustBe24() {
        TestElfBuilder builder = builder();
        byte[] b = builder.build();
        le(b).putLong(builder.sectionHeaderOffset(TestElfBuilder.DYNSYM) + 56, 0);
        assertBad(b, "entry size 0, expected 24");
    }

    @Test
    void symbolTableLinkedToSomethingElseThanAStringTable() {
        TestElfBuilder builder = builder();
        byte[] b = builder.build();
        le(b).putInt(builder.sectionHeaderOffset(TestElfBuilder.DYNSYM) + 40, TestElfBuilder.TEXT);
        assertBad(b, "is not a string table");
    }

    // --- hash tables ----------------------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(ints = {0, 8})
    void gnuHashWithoutBucketsOrBloomWords(int field) {
        TestElfBuilder builder = builder();
        byte[] b = builder.build();
        le(b).putInt(builder.sectionOffset(TestElfBuilder.HASH) + field, 0);
        assertBad(b, "GNU hash table [2]").hasMessageContaining("must be > 0");
    }

    @Test
    void gnuHashTablesLargerThanTheSection() {
        TestElfBuilder builder = builder();
        byte[] b = builder.build();
        le(b).putInt(builder.sectionOffset(TestElfBuilder.HASH), 0x4000_0000);
        assertBad(b, "GNU hash table [2]").hasMessageContaining("buckets need");
    }

    @Test
    void gnuHashFirstSymbolBeyondTheTable() {
        TestElfBuilder builder = builder();
        byte[] b = builder.build();
        le(b).putInt(builder.sectionOffset(TestElfBuilder.HASH) + 4, 1000);
        assertBad(b, "first hashed symbol 1000");
    }

    @Test
    void gnuHashChainWithoutEndMarkerTerminates() throws ElfFormatException {
        TestElfBuilder builder = builder();
        byte[] b = builder.build();
        int at = builder.sectionOffset(TestElfBuilder.HASH);
        ByteBuffer buf = le(b);
        int nbuckets = buf.getInt(at);
        int bloom = buf.getInt(at + 8);
        int chain = at + 16 + 8 * bloom + 4 * nbuckets;
        int hashSize = (int) buf.getLong(builder.sectionHeaderOffset(TestElfBuilder.HASH) + 32);
        for (int p = chain; p + 4 <= at + hashSize; p += 4) {
            buf.putInt(p, buf.getInt(p) & ~1); // no chain ends
        }
        buf.putLong(at + 16, -1L); // a bloom filter that lets every name through
        ElfFile elf = parse(b);
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
            assertThat(elf.symbol("definitely_absent")).isEmpty();
            assertThat(elf.symbol("_PyRuntime")).isPresent();
            ElfExerciser.exerciseAll(elf);
        });
    }

    @Test
    void gnuHashBucketPointingBelowTheHashedSymbols() throws ElfFormatException {
        TestElfBuilder builder = builder();
        byte[] b = builder.build();
        int at = builder.sectionOffset(TestElfBuilder.HASH);
        ByteBuffer buf = le(b);
        int bucketsAt = at + 16 + 8 * buf.getInt(at + 8);
        for (int i = 0; i < buf.getInt(at); i++) {
            buf.putInt(bucketsAt + 4 * i, 1); // symbol 1 is the undefined malloc, below symoffset
        }
        buf.putLong(at + 16, -1L);
        ElfFile elf = parse(b);
        // The hash table no longer finds it; .symtab still does.
        assertThat(elf.symbol("Py_Version").orElseThrow().dynamic()).isFalse();
    }

    @Test
    void sysvHashChainCycleTerminates() throws ElfFormatException {
        TestElfBuilder builder = builder().hash(TestElfBuilder.Hash.SYSV);
        byte[] b = builder.build();
        int at = builder.sectionOffset(TestElfBuilder.HASH);
        ByteBuffer buf = le(b);
        int nbucket = buf.getInt(at);
        int nchain = buf.getInt(at + 4);
        int chain = at + 8 + 4 * nbucket;
        for (int i = 0; i < nbucket; i++) {
            buf.putInt(at + 8 + 4 * i, 1);
        }
        for (int i = 0; i < nchain; i++) {
            buf.putInt(chain + 4 * i, i == 1 ? 2 : 1); // 1 -> 2 -> 1 -> ...
        }
        ElfFile elf = parse(b);
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> assertThat(elf.symbol("definitely_absent")).isEmpty());
    }

    @Test
    void sysvHashLargerThanItsSection() {
        TestElfBuilder builder = builder().hash(TestElfBuilder.Hash.SYSV);
        byte[] b = builder.build();
        le(b).putInt(builder.sectionOffset(TestElfBuilder.HASH) + 4, 0x7fff_ffff);
        assertBad(b, "SysV hash table [2]");
        byte[] c = builder.build();
        le(c).putInt(builder.sectionOffset(TestElfBuilder.HASH), 0);
        assertBad(c, "has no buckets");
    }

    // --- dynamic, notes, debuglink ----------------------------------------------------------------------

    @Test
    void dynamicStringIndexOutOfRange() {
        TestElfBuilder builder = builder();
        byte[] b = builder.build();
        le(b).putLong(builder.sectionOffset(TestElfBuilder.DYNAMIC) + 8, 1L << 40); // DT_SONAME's value
        assertBad(b, "DT_SONAME").hasMessageContaining("outside the string table");
    }

    @Test
    void dynamicStrtabAddressOutsideTheSegmentsWithoutSectionHeaders() {
        TestElfBuilder builder = builder().withoutSectionHeaders();
        byte[] b = builder.build();
        le(b).putLong(builder.sectionOffset(TestElfBuilder.DYNAMIC) + 16 * 2 + 8, 1L << 40); // DT_STRTAB
        assertBad(b, "DT_STRTAB address 0x10000000000 is in no PT_LOAD segment");
    }

    @Test
    void noteLongerThanItsSection() {
        TestElfBuilder builder = builder();
        byte[] b = builder.build();
        le(b).putInt(builder.sectionOffset(TestElfBuilder.NOTE) + 4, 0x10000); // descsz
        assertBad(b, "note section [1] '.note.gnu.build-id'").hasMessageContaining("extends past the end of its section");
        byte[] c = builder.build();
        le(c).putInt(builder.sectionOffset(TestElfBuilder.NOTE), -1); // namesz 4 GiB
        assertBad(c, "extends past the end of its section");
    }

    @Test
    void debugLinkWithoutTerminatorOrCrc() {
        TestElfBuilder builder = builder();
        byte[] b = builder.build();
        int at = builder.sectionOffset(TestElfBuilder.DEBUGLINK);
        int size = (int) le(b).getLong(builder.sectionHeaderOffset(TestElfBuilder.DEBUGLINK) + 32);
        Arrays.fill(b, at, at + size, (byte) 'a');
        assertBad(b, ".gnu_debuglink file name is not NUL-terminated");
        byte[] c = builder.build();
        le(c).putLong(builder.sectionHeaderOffset(TestElfBuilder.DEBUGLINK) + 32, size - 4);
        assertBad(c, ".gnu_debuglink too short for its CRC");
    }

    @Test
    void everySingleByteCorruptionOfTheHeadersIsHandled() {
        // Not a fuzzer, but deterministic: flip each header and section-header byte; either it parses and
        // every accessor works, or it is an ElfFormatException.
        TestElfBuilder builder = builder().compact();
        byte[] full = builder.build();
        int[] positions = IntStream.concat(IntStream.range(0, 64 + 56 * 3), IntStream.range(builder.shoff(), full.length)).toArray();
        for (int pos : positions) {
            for (int value : new int[] {0x00, 0xff, 0x80, full[pos] ^ 0x01}) {
                byte[] b = full.clone();
                b[pos] = (byte) value;
                try {
                    ElfExerciser.exerciseAll(parse(b));
                } catch (ElfFormatException e) {
                    assertThat(e.getMessage()).startsWith(NAME + ": ");
                }
            }
        }
    }
}
