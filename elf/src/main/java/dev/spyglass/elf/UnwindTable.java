package dev.spyglass.elf;

import java.util.Arrays;

/**
 * The call-frame information of one x86-64 ELF file flattened into a sorted table: for each address
 * range, how to find the caller's frame (the CFA), the return address and the caller's {@code rbp}.
 * Built once from {@code .eh_frame} (see {@link #of(ElfFile)}), then looked up by binary search with no
 * allocation, as the OpenTelemetry eBPF profiler's "stack deltas" are: unwinding a sample never
 * interprets DWARF.
 *
 * <p>Only the rules an x86-64 unwinder needs are kept. CPython's eval loop
 * ({@code _PyEval_EvalFrameDefault}) keeps no frame pointer (CFA = rsp + 384 on 3.12), so frame pointers
 * alone cannot unwind it; nearly every row of a real object is "CFA = rsp + N" or "rbp + N". Two DWARF
 * expressions occur in real binaries and are recognised: the PLT's (the CFA depends on where in the
 * 16-byte entry {@code rip} is) and the signal trampoline's ({@code __restore_rt}: every register is in
 * the {@code ucontext} on the stack). Any other expression or register is {@link Cfa#UNSUPPORTED}, and an
 * unwinder stops there rather than guess.
 *
 * <p>Addresses are link-time addresses of the file (subtract the load bias from a run-time address).
 * Instances are immutable and safe for use by several threads.
 */
public final class UnwindTable {

    /** How the CFA (the caller's stack pointer, the value of {@code rsp} before the call) is found. */
    public enum Cfa {
        /** {@code rsp + offset}. */
        RSP_OFFSET,
        /** {@code rbp + offset}. */
        RBP_OFFSET,
        /**
         * A PLT entry: {@code rsp + offset}, plus 8 when {@code (rip & 15) >= } {@link #pltThreshold} (the
         * entry has pushed its relocation index).
         */
        PLT,
        /** The 8 bytes at {@code rsp + offset}: a signal frame, whose saved {@code rsp} is in the ucontext. */
        DEREF_RSP_OFFSET,
        /** A rule this table does not model (another register, another expression): stop unwinding. */
        UNSUPPORTED,
        /** No FDE covers the address (between functions, or code without CFI). */
        NO_INFO
    }

    /** Where a register of the caller (the return address, {@code rbp}) is. */
    public enum Saved {
        /** Unchanged by this frame: the caller's value is the current one. */
        SAME,
        /** Undefined: for the return address, the outermost frame ({@code _start}, a thread's start). */
        UNDEFINED,
        /** In the 8 bytes at {@code CFA + offset}. */
        AT_CFA_OFFSET,
        /** In the 8 bytes at {@code rsp + offset} (the signal trampoline's ucontext). */
        AT_RSP_OFFSET,
        /** A rule this table does not model. */
        UNSUPPORTED
    }

    private static final Cfa[] CFAS = Cfa.values();
    private static final Saved[] SAVES = Saved.values();

    private final long[] address;
    private final byte[] cfa;
    private final int[] cfaOffset;
    private final byte[] ra;
    private final int[] raOffset;
    private final byte[] rbp;
    private final int[] rbpOffset;
    private final int fdeCount;

    UnwindTable(long[] address, byte[] cfa, int[] cfaOffset, byte[] ra, int[] raOffset, byte[] rbp, int[] rbpOffset,
            int fdeCount) {
        this.address = address;
        this.cfa = cfa;
        this.cfaOffset = cfaOffset;
        this.ra = ra;
        this.raOffset = raOffset;
        this.rbp = rbp;
        this.rbpOffset = rbpOffset;
        this.fdeCount = fdeCount;
    }

    /**
     * Reads the call-frame information of an x86-64 file: {@code .eh_frame} found by its section header,
     * or, in a file without section headers (an image read from memory), through {@code PT_GNU_EH_FRAME}
     * as the run-time unwinder finds it. A file with neither gives an empty table.
     *
     * @throws ElfFormatException       when the call-frame data is malformed (names the offset)
     * @throws IllegalArgumentException when the file is not x86-64
     */
    public static UnwindTable of(ElfFile file) throws ElfFormatException {
        if (file.machine() != ElfConstants.EM_X86_64) {
            throw new IllegalArgumentException(file.name() + " is not an x86-64 file (machine " + file.machine() + ")");
        }
        return EhFrame.read(file);
    }

    /** Rows of the table: address ranges with one set of rules (a function has several). */
    public int size() {
        return address.length;
    }

    /** How many FDEs (functions, or function parts such as {@code .cold} blocks) the table was built from. */
    public int fdeCount() {
        return fdeCount;
    }

    /**
     * The row covering link-time address {@code vaddr}, or -1 before the first row. A row whose
     * {@link #cfa} is {@link Cfa#NO_INFO} says no FDE covers the address.
     */
    public int find(long vaddr) {
        int i = Arrays.binarySearch(address, vaddr);
        return i >= 0 ? i : -i - 2;
    }

    /** The first address of row {@code i}; the row ends where row {@code i + 1} starts. */
    public long start(int i) {
        return address[i];
    }

    public Cfa cfa(int i) {
        return CFAS[cfa[i]];
    }

    /** The offset of {@link #cfa}'s rule (for {@link Cfa#PLT}, the offset before the pushed index). */
    public int cfaOffset(int i) {
        return cfa[i] == Cfa.PLT.ordinal() ? (short) cfaOffset[i] : cfaOffset[i];
    }

    /** For a {@link Cfa#PLT} row, the {@code rip & 15} from which the relocation index is on the stack. */
    public int pltThreshold(int i) {
        return cfaOffset[i] >>> 16;
    }

    public Saved returnAddress(int i) {
        return SAVES[ra[i]];
    }

    public int returnAddressOffset(int i) {
        return raOffset[i];
    }

    public Saved rbp(int i) {
        return SAVES[rbp[i]];
    }

    public int rbpOffset(int i) {
        return rbpOffset[i];
    }

    /** Bytes of memory the table's arrays take (about 23 per row). */
    public long memoryBytes() {
        return (long) address.length * (8 + 1 + 4 + 1 + 4 + 1 + 4);
    }

    @Override
    public String toString() {
        return "UnwindTable[" + fdeCount + " FDEs, " + address.length + " rows]";
    }
}
