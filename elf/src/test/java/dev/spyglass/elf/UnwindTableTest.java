package dev.spyglass.elf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.RandomAccessFile;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import dev.spyglass.elf.UnwindTable.Cfa;
import dev.spyglass.elf.UnwindTable.Saved;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * {@link UnwindTable} against GNU readelf's interpreted frame tables on every interpreter, libpython,
 * libc, libm, the loader and the vDSO of this JVM: at every row readelf prints and every row of ours,
 * both must give the same CFA, return-address and {@code rbp} rules. Then the rules the unwinder
 * relies on by name: the signal trampoline, the PLT, CPython's eval loop.
 */
class UnwindTableTest {

    @ForEachPython
    void interpreterMatchesReadelf(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        assertMatchesReadelf(py.interpreterObject());
    }

    @ParameterizedTest
    @MethodSource("dev.spyglass.elf.ReadelfOracleTest#systemLibraries")
    void systemLibraryMatchesReadelf(Path lib) throws Exception {
        try (ElfFile elf = ElfFile.open(lib)) {
            // A separate debug file's .eh_frame has no bytes (SHT_NOBITS): nothing to compare.
            assumeTrue(elf.section(".eh_frame").filter(s -> !s.isNoBits()).isPresent(), lib + " has no .eh_frame bytes");
        }
        assertMatchesReadelf(lib);
    }

    /** The vDSO has no file: it is read from this process's memory, then compared like a file. */
    @Test
    void vdsoMatchesReadelf(@TempDir Path dir) throws Exception {
        Path vdso = dir.resolve("vdso.so");
        long[] range = null;
        for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
            if (line.endsWith("[vdso]")) {
                String[] a = line.split("\\s+")[0].split("-");
                range = new long[] {Long.parseUnsignedLong(a[0], 16), Long.parseUnsignedLong(a[1], 16)};
            }
        }
        assumeTrue(range != null, "no [vdso] mapping");
        byte[] bytes = new byte[(int) (range[1] - range[0])];
        try (RandomAccessFile mem = new RandomAccessFile("/proc/self/mem", "r")) {
            mem.seek(range[0]);
            mem.readFully(bytes);
        }
        Files.write(vdso, bytes);
        int rows = assertMatchesReadelf(vdso);
        assertThat(rows).as("rows of the vDSO's table").isPositive();
    }

    @Test
    void signalTrampolineFindsTheInterruptedFrameInTheUcontext() throws Exception {
        Path libc = Path.of("/lib/x86_64-linux-gnu/libc.so.6");
        assumeTrue(Files.isRegularFile(libc), "no " + libc);
        try (ElfFile elf = ElfFile.open(libc)) {
            UnwindTable t = UnwindTable.of(elf);
            // Debian's libc has no .symtab; its debug file (when installed) names the trampoline. Without
            // it, the trampoline is the one FDE whose CFA is read from the stack.
            Symbol restore = elf.symbol("__restore_rt").or(() -> elf.findDebugFile(libc).flatMap(d -> {
                try (ElfFile debug = ElfFile.open(d)) {
                    return debug.symbol("__restore_rt");
                } catch (java.io.IOException e) {
                    return java.util.Optional.empty();
                }
            })).orElse(null);
            List<Integer> derefRows = new ArrayList<>();
            for (int r = 0; r < t.size(); r++) {
                if (t.cfa(r) == Cfa.DEREF_RSP_OFFSET) {
                    derefRows.add(r);
                }
            }
            assertThat(derefRows).as("rows of libc whose CFA is read from the stack").hasSize(1);
            int i = restore != null ? t.find(restore.value()) : derefRows.get(0);
            assertThat(i).isEqualTo(derefRows.get(0));
            // glibc x86-64: the ucontext_t starts at rsp; uc_mcontext.gregs holds rbp at +120, rsp at +160,
            // rip at +168 (sysdeps/unix/sysv/linux/x86_64/libc_sigaction.c's hand-written CFI).
            assertThat(t.cfa(i)).isEqualTo(Cfa.DEREF_RSP_OFFSET);
            assertThat(t.cfaOffset(i)).isEqualTo(160);
            assertThat(t.returnAddress(i)).isEqualTo(Saved.AT_RSP_OFFSET);
            assertThat(t.returnAddressOffset(i)).isEqualTo(168);
            assertThat(t.rbp(i)).isEqualTo(Saved.AT_RSP_OFFSET);
            assertThat(t.rbpOffset(i)).isEqualTo(120);
        }
    }

    @ForEachPython
    void pltEntriesAndTheEvalLoopHaveTheirRules(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        try (ElfFile elf = ElfFile.open(py.interpreterObject())) {
            UnwindTable t = UnwindTable.of(elf);
            assertThat(t.fdeCount()).as("FDEs of %s", py.label()).isGreaterThan(1000);
            Section plt = elf.section(".plt").orElse(null);
            if (plt != null && plt.size() > 16) {
                // The PLT's entries (after PLT0) push their index at offset 6 (.plt) : rsp + 8, + 8 from there.
                int i = t.find(plt.address() + 16);
                assertThat(t.cfa(i)).as("CFA rule in .plt of %s", py.label()).isEqualTo(Cfa.PLT);
                assertThat(t.cfaOffset(i)).isEqualTo(8);
                assertThat(t.pltThreshold(i)).isBetween(10, 11);
            }
            Symbol eval = elf.symbol(py.atLeast(3, 6) ? "_PyEval_EvalFrameDefault" : "PyEval_EvalFrameEx").orElse(null);
            assumeTrue(eval != null && eval.isDefined(), py.label() + ": eval loop symbol not in the symbol tables");
            // Somewhere inside the eval loop, the CFA is rsp or rbp + a frame of hundreds of bytes: a frame
            // pointer walk could not get past it.
            boolean bigFrame = false;
            for (int i = t.find(eval.value()); i >= 0 && i < t.size() && t.start(i) < eval.value() + eval.size(); i++) {
                bigFrame |= t.cfa(i) == Cfa.RSP_OFFSET && t.cfaOffset(i) >= 100 || t.cfa(i) == Cfa.RBP_OFFSET;
                assertThat(t.returnAddress(i)).isIn(Saved.AT_CFA_OFFSET);
            }
            assertThat(bigFrame).as("eval loop of %s has a large rsp-based frame or an rbp-based one", py.label()).isTrue();
        }
    }

    @Test
    void notX86IsRefusedAndNoEhFrameIsAnEmptyTable() throws Exception {
        byte[] header = new byte[64];
        java.nio.ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).put(0, (byte) 0x7f).put(1, (byte) 'E')
                .put(2, (byte) 'L').put(3, (byte) 'F').put(4, (byte) 2).put(5, (byte) 1).put(6, (byte) 1)
                .putShort(16, (short) 3).putShort(18, (short) ElfConstants.EM_X86_64);
        ElfFile empty = ElfFile.of(java.lang.foreign.MemorySegment.ofArray(header), "empty");
        assertThat(UnwindTable.of(empty).size()).isZero();
        assertThat(UnwindTable.of(empty).find(0x1000)).isEqualTo(-1);
        java.nio.ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).putShort(18, (short) ElfConstants.EM_AARCH64);
        ElfFile arm = ElfFile.of(java.lang.foreign.MemorySegment.ofArray(header), "arm");
        assertThatThrownBy(() -> UnwindTable.of(arm)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("x86-64");
    }

    /**
     * Corrupting {@code .eh_frame} byte by byte (300 single-byte changes at seeded random places of a
     * real libpython's section) gives a table or an {@link ElfFormatException} naming the file: never
     * another exception, a hang or a table larger than the section could describe.
     */
    @Test
    void corruptCallFrameDataFailsCleanly() throws Exception {
        PythonInterpreter py = dev.spyglass.testsupport.PythonInterpreters.assumeAny(3, 11);
        byte[] section;
        long address;
        try (ElfFile elf = ElfFile.open(py.interpreterObject())) {
            Section eh = elf.section(".eh_frame").orElseThrow();
            section = elf.sectionData(eh).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            address = eh.address();
        }
        java.util.Random random = new java.util.Random(42);
        int failures = 0;
        for (int round = 0; round < 300; round++) {
            byte[] bytes = section.clone();
            bytes[random.nextInt(bytes.length)] = (byte) random.nextInt(256);
            String name = "corrupt-" + round;
            ElfBytes b = new ElfBytes(java.lang.foreign.MemorySegment.ofArray(bytes), name);
            try {
                UnwindTable t = EhFrame.parse(b, 0, bytes.length, address);
                assertThat(t.size()).isLessThanOrEqualTo(bytes.length + t.fdeCount() + 1);
            } catch (ElfFormatException e) {
                assertThat(e.getMessage()).startsWith(name + ": ");
                failures++;
            }
        }
        assertThat(failures).as("corruptions detected as malformed").isPositive();
    }

    /** Compares every row both ways; returns how many rows readelf printed. */
    static int assertMatchesReadelf(Path file) throws Exception {
        ReadelfFrames.Frames frames = ReadelfFrames.read(file);
        List<String> problems = new ArrayList<>();
        int rows = 0;
        try (ElfFile elf = ElfFile.open(file)) {
            UnwindTable t = UnwindTable.of(elf);
            int fdes = 0;
            for (ReadelfFrames.Fde fde : frames.fdes()) {
                if (fde.pcEnd() == fde.pcBegin()) {
                    continue;
                }
                fdes++;
                List<ReadelfFrames.Row> expected = fde.rows().isEmpty()
                        ? List.of(new ReadelfFrames.Row(fde.pcBegin(), frames.cieInitialRows().get(fde.cie()).values()))
                        : fde.rows();
                for (ReadelfFrames.Row r : expected) {
                    rows++;
                    compare(t, r.loc(), r, problems, file);
                }
                // Every row of ours inside the FDE agrees with readelf's row in force there.
                int i = Math.max(0, t.find(fde.pcBegin()));
                for (; i < t.size() && Long.compareUnsigned(t.start(i), fde.pcEnd()) < 0; i++) {
                    long at = Math.max(t.start(i), fde.pcBegin());
                    ReadelfFrames.Row inForce = expected.get(0);
                    for (ReadelfFrames.Row r : expected) {
                        if (Long.compareUnsigned(r.loc(), at) <= 0) {
                            inForce = r;
                        }
                    }
                    compare(t, at, inForce, problems, file);
                }
                if (problems.size() > 20) {
                    break;
                }
            }
            assertThat(problems).as("rules differing from readelf in %s", file).isEmpty();
            assertThat(t.fdeCount()).as("FDEs of %s", file).isEqualTo(fdes);
        }
        return rows;
    }

    private static void compare(UnwindTable t, long at, ReadelfFrames.Row r, List<String> problems, Path file) {
        int i = t.find(at);
        String where = String.format("0x%x in %s", at, file.getFileName());
        if (i < 0) {
            problems.add(where + ": no row");
            return;
        }
        String cfa = r.get("cfa");
        boolean cfaOk = switch (t.cfa(i)) {
            case RSP_OFFSET -> cfa.equals(offsetText("rsp", t.cfaOffset(i)));
            case RBP_OFFSET -> cfa.equals(offsetText("rbp", t.cfaOffset(i)));
            case PLT, DEREF_RSP_OFFSET -> cfa.equals("exp");
            case UNSUPPORTED -> cfa.equals("exp") || !cfa.startsWith("rsp") && !cfa.startsWith("rbp");
            case NO_INFO -> false;
        };
        if (!cfaOk) {
            problems.add(where + ": CFA " + t.cfa(i) + " " + t.cfaOffset(i) + ", readelf " + cfa);
        }
        if (!savedOk(t.returnAddress(i), t.returnAddressOffset(i), r.get("ra"))) {
            problems.add(where + ": return address " + t.returnAddress(i) + " " + t.returnAddressOffset(i) + ", readelf " + r.get("ra"));
        }
        if (!savedOk(t.rbp(i), t.rbpOffset(i), r.get("rbp"))) {
            problems.add(where + ": rbp " + t.rbp(i) + " " + t.rbpOffset(i) + ", readelf " + r.get("rbp"));
        }
    }

    private static String offsetText(String reg, int offset) {
        return offset < 0 ? reg + offset : reg + "+" + offset;
    }

    private static boolean savedOk(Saved rule, int offset, String readelf) {
        return switch (rule) {
            case SAME -> readelf.equals("u") || readelf.equals("s");
            case UNDEFINED -> readelf.equals("u");
            case AT_CFA_OFFSET -> readelf.equals(offset < 0 ? "c" + offset : "c+" + offset);
            case AT_RSP_OFFSET -> readelf.equals("exp");
            case UNSUPPORTED -> !readelf.equals("u") && !readelf.startsWith("c");
        };
    }
}
