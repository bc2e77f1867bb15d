package dev.spyglass.internal.leaks;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HexFormat;

import org.junit.jupiter.api.Test;

/**
 * The scan of an exported allocator function's first bytes ({@link AllocatorTable#loadAndCompare}) on the real
 * bytes of Debian's builds, as {@code objdump -d} shows them (the live reading is {@code AllocatorTableTest}).
 */
class AllocatorTableCodeTest {

    private static long[] scan(String hex, long entry) {
        return AllocatorTable.loadAndCompare(HexFormat.of().parseHex(hex.replace(" ", "")), entry);
    }

    @Test
    void findsTheMallocSlotAndTheDefaultItIsComparedWithOnDebian311() {
        // python3.11 3.11.2-6+deb12u6 PyObject_Malloc: push; test; js; mov 0x45ebe7(%rip),%rax; mov %rdi,%rbx;
        // mov 0x45ebd5(%rip),%rdi (ctx); cmp $0x4fb450,%rax
        long[] r = scan("53 48 85 ff 0f 88 65 ad f2 ff 48 8b 05 e7 eb 45 00 48 89 fb 48 8b 3d d5 eb 45 00"
                + " 48 3d 50 b4 4f 00 0f 85 c3 00 00 00", 0x4fb350);
        assertThat(r).containsExactly(0x959f48L, 0x4fb450L);
    }

    @Test
    void findsThemAfterEndbr64OnDebianTrixie313() {
        // python3.13 (trixie) PyObject_Malloc: endbr64; push; push; sub; test; js; mov 0x5177ce(%rip),%rax ->
        // _PyRuntime+0x318; mov %rdi,%rbx; cmp $0x528050,%rax
        long[] r = scan("f3 0f 1e fa 55 53 48 83 ec 08 48 85 ff 0f 88 fd fc ef ff 48 8b 05 ce 77 51 00 48 89 fb"
                + " 48 3d 50 80 52 00 0f 85 d2 00 00 00", 0x527f30);
        assertThat(r).containsExactly(0xa3f718L, 0x528050L);
    }

    @Test
    void aFunctionWithoutComparisonGivesTheSlotAndZero() {
        // python3.14 (sid) PyObject_Realloc: mov 0x60dc66(%rip),%rdi (the ctx slot); jmp *0x60dc78(%rip)
        long[] r = scan("f3 0f 1e fa 48 89 f2 48 85 f6 0f 88 f3 ac ea ff 48 89 fe 48 8b 3d 66 dc 60 00"
                + " ff 25 78 dc 60 00", 0x592f00);
        assertThat(r).containsExactly(0xba0b80L, 0L);
    }

    @Test
    void codeWithoutARipRelativeLoadGivesNothing() {
        assertThat(scan("f3 0f 1e fa 55 48 89 e5 48 83 ec 10 48 89 7d f8 c9 c3", 0x1000)).isNull();
    }
}
