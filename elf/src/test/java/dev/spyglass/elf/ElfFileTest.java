package dev.spyglass.elf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.CRC32;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** ElfFile over small files written by {@link TestElfBuilder}, where every expected value is known. */
class ElfFileTest {

    private static ElfFile parse(byte[] bytes) throws ElfFormatException {
        return ElfFile.of(MemorySegment.ofArray(bytes), "test.so");
    }

    @ParameterizedTest
    @EnumSource(TestElfBuilder.Hash.class)
    void looksUpDynamicSymbolsThroughEachHashKind(TestElfBuilder.Hash hash) throws Exception {
        ElfFile elf = parse(TestElfBuilder.typical().hash(hash).build());
        assertThat(elf.symbol("_PyRuntime")).hasValueSatisfying(s -> {
            assertThat(s.value()).isEqualTo(0x3000);
            assertThat(s.size()).isEqualTo(0x100);
            assertThat(s.isObject()).isTrue();
            assertThat(s.dynamic()).isTrue();
            assertThat(s.sectionIndex()).isEqualTo(TestElfBuilder.DATA);
        });
        assertThat(elf.symbol("Py_Initialize").orElseThrow().value()).isEqualTo(0x1000);
        assertThat(elf.symbol("PyEval_EvalCode").orElseThrow().size()).isEqualTo(0x80);
        assertThat(elf.symbol("Py_Version").orElseThrow().value()).isEqualTo(0x2000);
        assertThat(elf.symbol("no_such_symbol")).isEmpty();
        assertThat(elf.symbol("")).isEmpty();
        assertThat(elf.symbol("_PyRuntim")).isEmpty();
        assertThat(elf.symbol("_PyRuntimeX")).isEmpty();
    }

    @ParameterizedTest
    @EnumSource(TestElfBuilder.Hash.class)
    void prefersTheDefaultVersionOverAHiddenOne(TestElfBuilder.Hash hash) throws Exception {
        ElfFile elf = parse(TestElfBuilder.typical().hash(hash).build());
        assertThat(elf.symbol("versioned").orElseThrow().value()).isEqualTo(0x10c0);
    }

    @Test
    void fallsBackToSymtabForLocalSymbols() throws Exception {
        ElfFile elf = parse(TestElfBuilder.typical().build());
        Symbol s = elf.symbol("interp_head").orElseThrow();
        assertThat(s.dynamic()).isFalse();
        assertThat(s.binding()).isEqualTo(ElfConstants.STB_LOCAL);
        assertThat(s.value()).isEqualTo(0x3100);
    }

    @ParameterizedTest
    @EnumSource(TestElfBuilder.Hash.class)
    void dynamicSymbolLooksOnlyInDynsym(TestElfBuilder.Hash hash) throws Exception {
        ElfFile elf = parse(TestElfBuilder.typical().hash(hash).build());
        assertThat(elf.dynamicSymbol("interp_head")).isEmpty();
        assertThat(elf.symbol("interp_head")).isPresent();
        Symbol versioned = elf.dynamicSymbol("versioned").orElseThrow();
        assertThat(versioned.dynamic()).isTrue();
        assertThat(versioned).isEqualTo(elf.symbol("versioned").orElseThrow());
    }

    @Test
    void undefinedDynamicSymbolIsReturnedWhenNothingDefinesIt() throws Exception {
        ElfFile elf = parse(TestElfBuilder.typical().hash(TestElfBuilder.Hash.SYSV).build());
        Symbol s = elf.symbol("malloc").orElseThrow();
        assertThat(s.isDefined()).isFalse();
    }

    @Test
    void listsAllSymbolsOfBothTablesWithoutNullEntries() throws Exception {
        ElfFile elf = parse(TestElfBuilder.typical().build());
        List<Symbol> all = elf.symbols();
        assertThat(all.stream().filter(Symbol::dynamic)).hasSize(7);
        assertThat(all.stream().filter(s -> !s.dynamic())).hasSize(9);
        assertThat(all).noneMatch(s -> s.name().isEmpty());
        assertThat(all.getFirst().name()).isEqualTo("malloc");
    }

    @Test
    void findsTheSymbolContainingAnAddress() throws Exception {
        ElfFile elf = parse(TestElfBuilder.typical().build());
        assertThat(elf.symbolAt(0x1000).orElseThrow().name()).isEqualTo("Py_Initialize");
        assertThat(elf.symbolAt(0x103f).orElseThrow().name()).isEqualTo("Py_Initialize");
        assertThat(elf.symbolAt(0x1040).orElseThrow().name()).isEqualTo("PyEval_EvalCode");
        assertThat(elf.symbolAt(0x30ff).orElseThrow().name()).isEqualTo("_PyRuntime");
        // the local helper [0x10d0, 0x10f0) lies inside no global symbol
        assertThat(elf.symbolAt(0x10d8).orElseThrow().name()).isEqualTo("helper");
        assertThat(elf.symbolAt(0x3100).orElseThrow().name()).isEqualTo("interp_head");
        assertThat(elf.symbolAt(0x0fff)).isEmpty();
        assertThat(elf.symbolAt(0x3108)).isEmpty();
        assertThat(elf.symbolAt(-1)).isEmpty();
    }

    @Test
    void readsHeaderSectionsAndProgramHeaders() throws Exception {
        ElfFile elf = parse(TestElfBuilder.typical().build());
        assertThat(elf.isSharedObject()).isTrue();
        assertThat(elf.isExecutable()).isFalse();
        assertThat(elf.machine()).isEqualTo(ElfConstants.EM_X86_64);
        assertThat(elf.entry()).isEqualTo(0x1000);
        assertThat(elf.sections()).hasSize(TestElfBuilder.COUNT);
        assertThat(elf.section(".rodata").orElseThrow().address()).isEqualTo(0x2000);
        assertThat(elf.section(".bss").orElseThrow().isNoBits()).isTrue();
        assertThat(elf.sectionData(elf.section(".bss").orElseThrow()).byteSize()).isZero();
        assertThat(elf.sectionData(elf.section(".text").orElseThrow()).byteSize()).isEqualTo(0x200);
        assertThat(elf.section(".nope")).isEmpty();
        assertThat(elf.programHeaders()).hasSize(3);
        assertThat(elf.loadSegments()).singleElement().satisfies(p -> assertThat(p.memSize()).isEqualTo(0x3210));
        assertThat(elf.interpreter()).isEmpty();
        assertThat(elf.soname()).contains("libtest.so.1");
        assertThat(elf.needed()).containsExactly("libc.so.6");
        assertThat(elf.buildIdHex()).contains("deadbeef01020304");
        assertThat(elf.debugLink()).contains(new DebugLink("test.debug", 0x12345678));
    }

    @Test
    void sectionDataIsReadOnlyAndBounded() throws Exception {
        ElfFile elf = parse(TestElfBuilder.typical().build());
        MemorySegment ro = elf.sectionData(elf.section(".rodata").orElseThrow());
        assertThat(ro.isReadOnly()).isTrue();
        assertThatThrownBy(() -> ro.set(ValueLayout.JAVA_BYTE, 0, (byte) 1)).isInstanceOf(IllegalArgumentException.class);
        assertThat(elf.bytes().isReadOnly()).isTrue();
    }

    @Test
    void rejectsSectionsOfAnotherFile() throws Exception {
        ElfFile elf = parse(TestElfBuilder.typical().build());
        Section fake = new Section(7, ".rodata", ElfConstants.SHT_PROGBITS, 0, 0, 0, 1 << 30, 0, 0, 0, 1);
        assertThatThrownBy(() -> elf.sectionData(fake)).isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest
    @EnumSource(TestElfBuilder.Hash.class)
    void worksWithoutSectionHeadersThroughProgramHeaders(TestElfBuilder.Hash hash) throws Exception {
        ElfFile elf = parse(TestElfBuilder.typical().hash(hash).withoutSectionHeaders().build());
        assertThat(elf.sections()).isEmpty();
        assertThat(elf.soname()).contains("libtest.so.1");
        assertThat(elf.needed()).containsExactly("libc.so.6");
        assertThat(elf.buildIdHex()).contains("deadbeef01020304");
        if (hash == TestElfBuilder.Hash.NONE) {
            // without a hash table nothing says how many dynamic symbols there are
            assertThat(elf.symbols()).isEmpty();
            return;
        }
        assertThat(elf.symbol("_PyRuntime").orElseThrow().value()).isEqualTo(0x3000);
        assertThat(elf.symbol("versioned").orElseThrow().value()).isEqualTo(0x10c0);
        assertThat(elf.symbol("interp_head")).isEmpty(); // .symtab needs section headers
        assertThat(elf.symbols()).hasSize(7).allMatch(Symbol::dynamic);
        assertThat(elf.symbolAt(0x1041).orElseThrow().name()).isEqualTo("PyEval_EvalCode");
    }

    @Test
    void boundedPatternSearch() throws Exception {
        ElfFile elf = parse(TestElfBuilder.typical().build());
        Section ro = elf.section(".rodata").orElseThrow();
        byte[] hello = "hello".getBytes(StandardCharsets.US_ASCII);
        long at = elf.find(ro, hello, 0, Long.MAX_VALUE).orElseThrow();
        assertThat(at).isEqualTo(new String(TestElfBuilder.typical().build(), StandardCharsets.ISO_8859_1)
                .indexOf("hello") - elf.section(".rodata").orElseThrow().offset());
        assertThat(elf.find(ro, hello, at, 5)).hasValue(at);
        assertThat(elf.find(ro, hello, at, 4)).isEmpty();
        assertThat(elf.find(ro, hello, at + 1, Long.MAX_VALUE)).isEmpty();
        assertThat(elf.find(ro, hello, ro.size() + 10, 100)).isEmpty();
        assertThat(elf.find(ro, new byte[0], 3, 0)).hasValue(3);
        assertThatThrownBy(() -> elf.find(ro, hello, -1, 1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void patternSearchAcrossChunkBoundaries() throws Exception {
        byte[] big = new byte[200_000];
        byte[] needle = "NEEDLE-\u0001-xyz".getBytes(StandardCharsets.ISO_8859_1);
        System.arraycopy(needle, 0, big, 65_536 - 3, needle.length);
        ElfFile elf = parse(TestElfBuilder.typical().rodata(big).build());
        Section ro = elf.section(".rodata").orElseThrow();
        assertThat(elf.find(ro, needle, 0, Long.MAX_VALUE)).hasValue(65_536 - 3);
        assertThat(elf.find(ro, needle, 0, 65_536)).isEmpty();
    }

    @Test
    void versionStringPrefersWholeStringsThatLookLikeVersions() throws Exception {
        ElfFile elf = parse(TestElfBuilder.typical().build());
        Section ro = elf.section(".rodata").orElseThrow();
        assertThat(elf.findVersionString(ro, "3.", 10)).contains("3.11.2 (main, Mar 13 2023) [GCC]");
        assertThat(elf.findVersionString(ro, "3.", 1)).isEmpty(); // the first "3." is the tail of python3.11
        assertThat(elf.findVersionString(ro, "4.", 10)).isEmpty();
    }

    @Test
    void addressAndOffsetConversions() throws Exception {
        ElfFile elf = parse(TestElfBuilder.typical().build());
        assertThat(elf.vaddrToFileOffset(0x2000)).isEqualTo(0x2000);
        assertThat(elf.vaddrToFileOffset(0x3205)).isEqualTo(-1); // .bss: in memory only
        assertThat(elf.fileOffsetToVaddr(0x1000)).isEqualTo(0x1000);
        assertThat(elf.fileOffsetToVaddr(1L << 40)).isEqualTo(-1);
    }

    @Test
    void loadBiasForPieAndNonPie() throws Exception {
        ElfFile pie = parse(TestElfBuilder.typical().build());
        assertThat(pie.loadBias(0x7f0000000000L, 0)).isEqualTo(0x7f0000000000L);
        assertThat(pie.loadBias(0x7f0000001000L, 0x1000)).isEqualTo(0x7f0000000000L);
        assertThatThrownBy(() -> pie.loadBias(0x7f0000000000L, 0x100000)).isInstanceOf(IllegalArgumentException.class);
        ElfFile exec = parse(TestElfBuilder.typical().type(ElfConstants.ET_EXEC).build());
        assertThat(exec.isExecutable()).isTrue();
        assertThat(exec.loadBias(0x400000, 0)).isZero();
    }

    @Test
    void findsDebugFileByBuildIdAndByDebugLink(@TempDir Path tmp) throws IOException {
        byte[] id = {0x12, 0x34, 0x56, 0x78, (byte) 0x9a};
        Path root = tmp.resolve("debugroot");
        Path libDir = Files.createDirectories(tmp.resolve("lib"));
        Path lib = libDir.resolve("libx.so");

        // by build-id: a debug file with the same id under .build-id/12/3456789a.debug
        byte[] debug = TestElfBuilder.typical().buildId(id).build();
        Path byId = Files.createDirectories(root.resolve(".build-id/12")).resolve("3456789a.debug");
        Files.write(byId, debug);
        Files.write(lib, TestElfBuilder.typical().buildId(id).debugLink("libx.so.debug", 0).build());
        try (ElfFile elf = ElfFile.open(lib)) {
            assertThat(elf.findDebugFile(lib, root)).contains(byId);
        }

        // a different build-id in the candidate does not match; the debuglink in .debug/ with the same id does
        Files.write(byId, TestElfBuilder.typical().buildId(new byte[] {1, 2, 3}).build());
        Path inDotDebug = Files.createDirectories(libDir.resolve(".debug")).resolve("libx.so.debug");
        Files.write(inDotDebug, debug);
        try (ElfFile elf = ElfFile.open(lib)) {
            assertThat(elf.findDebugFile(lib, root)).contains(inDotDebug);
        }

        // without build-id the CRC decides, in the global directory mirror of the file's directory
        Files.delete(inDotDebug);
        byte[] noIdDebug = TestElfBuilder.typical().buildId(new byte[0]).build();
        CRC32 crc = new CRC32();
        crc.update(noIdDebug);
        Path mirrored = Files.createDirectories(root.resolve(tmp.getRoot().relativize(libDir))).resolve("liby.so.debug");
        Files.write(mirrored, noIdDebug);
        Path liby = libDir.resolve("liby.so");
        Files.write(liby, TestElfBuilder.typical().buildId(new byte[0]).debugLink("liby.so.debug", (int) crc.getValue()).build());
        try (ElfFile elf = ElfFile.open(liby)) {
            assertThat(elf.buildId()).hasValueSatisfying(b -> assertThat(b).isEmpty());
            assertThat(elf.findDebugFile(liby, root)).contains(mirrored);
        }
        Files.write(liby, TestElfBuilder.typical().buildId(new byte[0]).debugLink("liby.so.debug", 42).build());
        try (ElfFile elf = ElfFile.open(liby)) {
            assertThat(elf.findDebugFile(liby, root)).isEmpty();
        }
    }

    @Test
    void openMapsAndCloseReleases(@TempDir Path tmp) throws IOException {
        Path f = tmp.resolve("a.so");
        Files.write(f, TestElfBuilder.typical().build());
        ElfFile elf = ElfFile.open(f);
        assertThat(elf.name()).isEqualTo(f.toString());
        assertThat(elf.bytes().isNative()).isTrue();
        assertThat(elf.bytes().isMapped()).isTrue();
        elf.close();
        elf.close();
        assertThatThrownBy(() -> elf.bytes().get(ValueLayout.JAVA_BYTE, 0)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void emptyFileIsAFormatErrorNamingTheFile(@TempDir Path tmp) throws IOException {
        Path f = Files.createFile(tmp.resolve("empty"));
        assertThatThrownBy(() -> ElfFile.open(f)).isInstanceOf(ElfFormatException.class).hasMessageContaining(f.toString())
                .hasMessageContaining("bad magic");
    }
}
