package dev.spyglass.internal.leaks;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;
import java.util.Optional;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import dev.spyglass.elf.ElfFile;
import dev.spyglass.elf.Section;
import dev.spyglass.elf.Symbol;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * {@link ArenaTable#decode} on the real bytes of each interpreter's {@code PyObject_GetArenaAllocator}, read from its
 * ELF file (the live reading is {@code ArenaTableTest}). On builds with symbols (pyenv), the table decoded must be
 * the one the symbol route names: {@code _PyObject_Arena} (3.6 - 3.11), or {@code _PyRuntime} plus an offset reached
 * through the GOT slot the dynamic linker fills with {@code _PyRuntime} (3.12+), and the relocations of its
 * {@code alloc} and {@code free} slots must point at {@code _PyObject_ArenaMmap}/{@code _PyObject_ArenaMunmap}
 * ({@code _PyMem_ArenaAlloc}/{@code _PyMem_ArenaFree} from 3.12), the functions the symbol route probes.
 */
class ArenaTableCodeTest {
    private static final int R_X86_64_GLOB_DAT = 6;
    private static final int R_X86_64_RELATIVE = 8;

    @ForEachPython
    void decodesTheGetterAndAgreesWithTheSymbolsOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(py.atLeast(3, 6), "PyObject_GetArenaAllocator: 3.4+, allocation probes 3.6+");
        Assumptions.assumeFalse(py.freeThreaded(), "free-threaded builds serve small objects from mimalloc");
        try (ElfFile elf = ElfFile.open(py.interpreterObject())) {
            Symbol getter = elf.dynamicSymbol("PyObject_GetArenaAllocator").orElseThrow();
            byte[] code = elf.bytes().asSlice(elf.vaddrToFileOffset(getter.value()), ArenaTable.CODE_BYTES)
                    .toArray(ValueLayout.JAVA_BYTE);
            Optional<ArenaTable> decoded = ArenaTable.decode(code, getter.value());
            String what = py.label() + " " + HexFormat.of().formatHex(code) + " -> " + decoded;
            System.out.println(what);
            assertThat(decoded).as(what).isPresent();
            ArenaTable t = decoded.get();
            Optional<Symbol> old = elf.symbol("_PyObject_Arena").filter(Symbol::isDefined);
            boolean renamed = py.atLeast(3, 12);
            Optional<Symbol> alloc = elf.symbol(renamed ? "_PyMem_ArenaAlloc" : "_PyObject_ArenaMmap");
            Optional<Symbol> free = elf.symbol(renamed ? "_PyMem_ArenaFree" : "_PyObject_ArenaMunmap");
            if (alloc.isEmpty()) { // stripped (Debian's static non-PIE builds): the file's table holds the addresses
                assertThat(t.indirect()).as(what).isFalse();
                long a = fileLong(elf, t.slot() + 8);
                long f = fileLong(elf, t.slot() + 16);
                assertThat(fileLong(elf, t.slot())).as(what + ": ctx").isZero();
                assertThat(a).as(what).isNotEqualTo(f);
                assertThat(executable(elf, a)).as(what + ": alloc 0x" + Long.toHexString(a)).isTrue();
                assertThat(executable(elf, f)).as(what + ": free 0x" + Long.toHexString(f)).isTrue();
                return;
            }
            long table;
            if (!renamed) {
                assertThat(t.indirect()).as(what).isFalse();
                table = t.slot();
                assertThat(table).as(what).isEqualTo(old.orElseThrow().value());
            } else {
                assertThat(t.indirect()).as(what).isTrue();
                long runtime = elf.dynamicSymbol("_PyRuntime").orElseThrow().value();
                assertThat(relocation(elf, t.slot(), R_X86_64_GLOB_DAT)).as(what + ": the GOT slot's symbol")
                        .isEqualTo(runtime);
                table = runtime + t.offset();
            }
            assertThat(relocation(elf, table + 8, R_X86_64_RELATIVE)).as(what + ": alloc")
                    .isEqualTo(alloc.get().value());
            assertThat(relocation(elf, table + 16, R_X86_64_RELATIVE)).as(what + ": free")
                    .isEqualTo(free.get().value());
        }
    }

    @Test
    void theShapesOfTheCopyDecode() {
        // Debian 3.11.2 static: movaps 0x54de9b(%rip),%xmm0; movups %xmm0,(%rdi); mov 0x54dea1(%rip),%rax; ...
        assertThat(decode("0f 28 05 9b de 54 00 0f 11 07 48 8b 05 a1 de 54 00 48 89 47 10 c3", 0x4ec07e))
                .contains(new ArenaTable(0xa39f20L, false, 0));
        // the same after endbr64, as movdqa, then plain mov loads of alloc and free (%rdx, %rax)
        assertThat(decode("f3 0f 1e fa 66 0f 6f 05 00 01 00 00 48 8b 05 09 01 00 00 c3", 0x1000))
                .contains(new ArenaTable(0x110cL, false, 0));
        assertThat(decode("f3 0f 1e fa 48 8b 15 00 01 00 00 48 8b 05 01 01 00 00 c3", 0x1000))
                .contains(new ArenaTable(0x1103L, false, 0));
        // pyenv 3.12: mov GOT(%rip),%rbp; ...; movdqu 0x168(%rbp),%xmm0; ...; mov 0x178(%rbp),%rax
        assertThat(decode("55 53 48 89 fb 48 83 ec 08 48 8b 2d a0 51 37 00 48 8b 7d 58 48 85 ff 74 37 be 01 00 00 00"
                + " e8 6d cd f3 ff f3 0f 6f 85 68 01 00 00 48 8b 7d 58 0f 11 03 48 8b 85 78 01 00 00", 0x1ceb50))
                .contains(new ArenaTable(0x543d00L, true, 0x168));
    }

    @Test
    void codeThatDoesNotCopyATableGivesNothing() {
        // loads that do not agree (free not 16 bytes after the 16-byte load)
        assertThat(decode("0f 28 05 00 01 00 00 48 8b 05 00 02 00 00 c3", 0x1000)).isEmpty();
        // the base register overwritten between its load from the GOT and the copy
        assertThat(decode("48 8b 2d 00 01 00 00 48 89 fd f3 0f 6f 85 68 01 00 00 48 8b 85 78 01 00 00", 0x1000))
                .isEmpty();
        assertThat(decode("f3 0f 1e fa 55 48 89 e5 c9 c3", 0x1000)).isEmpty();
    }

    private static Optional<ArenaTable> decode(String hex, long entry) {
        return ArenaTable.decode(HexFormat.of().parseHex(hex.replace(" ", "")), entry);
    }

    private static long fileLong(ElfFile elf, long vaddr) {
        return elf.bytes().get(ValueLayout.JAVA_LONG_UNALIGNED, elf.vaddrToFileOffset(vaddr));
    }

    private static boolean executable(ElfFile elf, long vaddr) {
        return elf.loadSegments().stream().anyMatch(p -> p.isExecutable() && p.containsAddress(vaddr));
    }

    /**
     * What the dynamic relocation of {@code type} at {@code vaddr} resolves to: the addend of a relative one, the
     * value of the symbol of a GOT one; -1 when there is none.
     */
    private static long relocation(ElfFile elf, long vaddr, int type) {
        Section rela = elf.section(".rela.dyn").orElseThrow();
        MemorySegment r = elf.sectionData(rela);
        MemorySegment dynsym = elf.sectionData(elf.section(".dynsym").orElseThrow());
        for (long at = 0; at + 24 <= r.byteSize(); at += 24) {
            long offset = r.get(ValueLayout.JAVA_LONG_UNALIGNED, at);
            long info = r.get(ValueLayout.JAVA_LONG_UNALIGNED, at + 8);
            if (offset == vaddr && (int) info == type) {
                return type == R_X86_64_RELATIVE ? r.get(ValueLayout.JAVA_LONG_UNALIGNED, at + 16)
                        : dynsym.get(ValueLayout.JAVA_LONG_UNALIGNED, (info >>> 32) * 24 + 8);
            }
        }
        return -1;
    }
}
