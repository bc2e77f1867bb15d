package dev.spyglass.elf;

import java.util.ArrayDeque;

import dev.spyglass.elf.UnwindTable.Cfa;
import dev.spyglass.elf.UnwindTable.Saved;

/**
 * Runs the DWARF call-frame instructions of a CIE or an FDE (DWARF 5, section 6.4.2) and hands each
 * row to an {@link UnwindTableBuilder}. Registers other than the CFA's, the return address and
 * {@code rbp} are parsed and ignored. An instruction this reader does not know ends the FDE with an
 * {@link Cfa#UNSUPPORTED} row: the rows before it stay usable, nothing after it is guessed.
 */
final class CfiProgram {
    /** Bound on DW_CFA_remember_state nesting: real compilers use one or two levels. */
    static final int MAX_REMEMBERED = 64;

    /** What a CIE says about the FDEs that use it. */
    record Cie(long codeAlign, long dataAlign, int raColumn, int fdeEncoding, boolean hasAugmentationData,
            boolean signalFrame, long instructionsStart, long instructionsEnd) {
    }

    private CfiProgram() {
    }

    /**
     * Runs {@code [c.position(), c.end())} starting from {@code row}; {@code initial} is the state after
     * the CIE's instructions ({@code DW_CFA_restore}'s target; the same object while running the CIE's).
     * With a null {@code out} (the CIE's initial instructions) advances are ignored.
     */
    static void run(CfiCursor c, Cie cie, CfiRow row, CfiRow initial, long pcBegin, UnwindTableBuilder out)
            throws ElfFormatException {
        ArrayDeque<CfiRow> remembered = new ArrayDeque<>();
        long loc = pcBegin;
        int ra = cie.raColumn();
        while (c.hasMore()) {
            int op = c.u8();
            int high = op >>> 6;
            int low = op & 0x3f;
            long advance = -1;
            switch (high) {
                case 1 -> advance = low * cie.codeAlign();
                case 2 -> row.set(low, ra, Saved.AT_CFA_OFFSET, c.uleb() * cie.dataAlign());
                case 3 -> row.restore(low, ra, initial);
                default -> {
                    switch (op) {
                        case 0x00 -> { } // DW_CFA_nop
                        case 0x01 -> { // DW_CFA_set_loc
                            long to = c.pointer(cie.fdeEncoding(), 0);
                            advance = to - loc;
                        }
                        case 0x02 -> advance = c.u8() * cie.codeAlign();
                        case 0x03 -> advance = c.u16() * cie.codeAlign();
                        case 0x04 -> advance = c.u32() * cie.codeAlign();
                        case 0x05 -> { // DW_CFA_offset_extended
                            int reg = register(c);
                            row.set(reg, ra, Saved.AT_CFA_OFFSET, c.uleb() * cie.dataAlign());
                        }
                        case 0x06 -> row.restore(register(c), ra, initial);
                        case 0x07 -> row.set(register(c), ra, Saved.UNDEFINED, 0);
                        case 0x08 -> row.set(register(c), ra, Saved.SAME, 0);
                        case 0x09 -> { // DW_CFA_register: the value is in another register
                            int reg = register(c);
                            c.uleb();
                            row.set(reg, ra, Saved.UNSUPPORTED, 0);
                        }
                        case 0x0a -> {
                            if (remembered.size() >= MAX_REMEMBERED) {
                                throw c.error("DW_CFA_remember_state nested deeper than " + MAX_REMEMBERED);
                            }
                            remembered.push(row.copy());
                        }
                        case 0x0b -> { // DW_CFA_restore_state: the CFA and registers, not the location
                            if (remembered.isEmpty()) {
                                throw c.error("DW_CFA_restore_state without DW_CFA_remember_state");
                            }
                            copyInto(remembered.pop(), row);
                        }
                        case 0x0c -> defCfa(row, register(c), c.uleb());
                        case 0x0d -> {
                            row.cfaRegister = register(c);
                            row.cfaExpression = null;
                        }
                        case 0x0e -> row.cfaOffset = c.uleb();
                        case 0x0f -> cfaExpression(row, block(c));
                        case 0x10 -> { // DW_CFA_expression: saved at the address the expression computes
                            int reg = register(c);
                            long at = rspOffsetExpression(block(c));
                            row.set(reg, ra, at == Long.MIN_VALUE ? Saved.UNSUPPORTED : Saved.AT_RSP_OFFSET,
                                    at == Long.MIN_VALUE ? 0 : at);
                        }
                        case 0x11 -> {
                            int reg = register(c);
                            row.set(reg, ra, Saved.AT_CFA_OFFSET, c.sleb() * cie.dataAlign());
                        }
                        case 0x12 -> {
                            int reg = register(c);
                            defCfa(row, reg, c.sleb() * cie.dataAlign());
                        }
                        case 0x13 -> row.cfaOffset = c.sleb() * cie.dataAlign();
                        case 0x14, 0x15 -> { // DW_CFA_val_offset(_sf): the value is CFA + N, not stored
                            int reg = register(c);
                            if (op == 0x14) {
                                c.uleb();
                            } else {
                                c.sleb();
                            }
                            row.set(reg, ra, Saved.UNSUPPORTED, 0);
                        }
                        case 0x16 -> { // DW_CFA_val_expression
                            int reg = register(c);
                            block(c);
                            row.set(reg, ra, Saved.UNSUPPORTED, 0);
                        }
                        case 0x2e -> c.uleb(); // DW_CFA_GNU_args_size: no effect on the rules
                        case 0x2f -> { // DW_CFA_GNU_negative_offset_extended
                            int reg = register(c);
                            row.set(reg, ra, Saved.AT_CFA_OFFSET, -c.uleb() * cie.dataAlign());
                        }
                        default -> {
                            // Unknown (or another architecture's) instruction: its operands cannot be skipped.
                            row.cfaExpression = Cfa.UNSUPPORTED;
                            if (out != null) {
                                out.row(loc, row);
                            }
                            c.seek(c.end());
                            return;
                        }
                    }
                }
            }
            if (advance >= 0 && out != null) {
                out.row(loc, row);
                loc += advance;
            } else if (advance < 0 && op == 0x01 && out != null) {
                throw c.error("DW_CFA_set_loc moves backwards");
            }
        }
        if (out != null) {
            out.row(loc, row);
        }
    }

    private static int register(CfiCursor c) throws ElfFormatException {
        long r = c.uleb();
        // x86-64 has 17 DWARF registers of interest and vector/x87 ones up to ~130; anything huge is junk.
        if (r > 0xffff) {
            throw c.error("register number " + r + " in call-frame instructions");
        }
        return (int) r;
    }

    private static void defCfa(CfiRow row, int reg, long offset) {
        row.cfaRegister = reg;
        row.cfaOffset = offset;
        row.cfaExpression = null;
    }

    private static void copyInto(CfiRow from, CfiRow to) {
        to.cfaRegister = from.cfaRegister;
        to.cfaOffset = from.cfaOffset;
        to.cfaExpression = from.cfaExpression;
        to.pltThreshold = from.pltThreshold;
        to.ra = from.ra;
        to.raOffset = from.raOffset;
        to.rbp = from.rbp;
        to.rbpOffset = from.rbpOffset;
    }

    private static byte[] block(CfiCursor c) throws ElfFormatException {
        long len = c.uleb();
        if (len > c.end() - c.position()) {
            throw c.error("DWARF expression of " + len + " bytes runs past its entry");
        }
        byte[] bytes = new byte[(int) len];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) c.u8();
        }
        return bytes;
    }

    // DWARF expression opcodes of the two expressions x86-64 binaries use.
    private static final int OP_DEREF = 0x06;
    private static final int OP_AND = 0x1a;
    private static final int OP_PLUS = 0x22;
    private static final int OP_SHL = 0x24;
    private static final int OP_GE = 0x2a;
    private static final int OP_LIT0 = 0x30;
    private static final int OP_BREG7 = 0x77;
    private static final int OP_BREG16 = 0x80;

    /**
     * Recognises the CFA expressions of real x86-64 objects: the PLT's
     * {@code breg7 N; breg16 0; lit15; and; litK; ge; lit3; shl; plus} (rsp + N, + 8 once the entry has
     * pushed), and the signal trampoline's {@code breg7 N; deref}. Anything else is unsupported.
     */
    private static void cfaExpression(CfiRow row, byte[] e) {
        row.cfaRegister = -1;
        row.cfaExpression = Cfa.UNSUPPORTED;
        Expr x = new Expr(e);
        if (x.next() != OP_BREG7) {
            return;
        }
        long n = x.sleb();
        int op = x.next();
        if (op == OP_DEREF && x.atEnd()) {
            row.cfaExpression = Cfa.DEREF_RSP_OFFSET;
            row.cfaOffset = n;
            return;
        }
        if (op == OP_BREG16 && x.sleb() == 0 && x.next() == OP_LIT0 + 15 && x.next() == OP_AND) {
            int lit = x.next() - OP_LIT0;
            if (lit >= 0 && lit < 16 && x.next() == OP_GE && x.next() == OP_LIT0 + 3 && x.next() == OP_SHL
                    && x.next() == OP_PLUS && x.atEnd() && n >= 0 && n < 0x8000) {
                row.cfaExpression = Cfa.PLT;
                row.cfaOffset = n;
                row.pltThreshold = lit;
            }
        }
    }

    /** N for the expression {@code breg7 N} (an address rsp + N), else {@link Long#MIN_VALUE}. */
    private static long rspOffsetExpression(byte[] e) {
        Expr x = new Expr(e);
        if (x.next() != OP_BREG7) {
            return Long.MIN_VALUE;
        }
        long n = x.sleb();
        return x.atEnd() && !x.failed ? n : Long.MIN_VALUE;
    }

    /** Reads a DWARF expression's bytes; past the end every read gives -1 and sets {@link #failed}. */
    private static final class Expr {
        private final byte[] e;
        private int i;
        boolean failed;

        Expr(byte[] e) {
            this.e = e;
        }

        int next() {
            if (i >= e.length) {
                failed = true;
                return -1;
            }
            return e[i++] & 0xff;
        }

        long sleb() {
            long result = 0;
            int shift = 0;
            int b;
            do {
                b = next();
                if (b < 0 || shift > 63) {
                    failed = true;
                    return Long.MIN_VALUE;
                }
                result |= (long) (b & 0x7f) << shift;
                shift += 7;
            } while ((b & 0x80) != 0);
            if (shift < 64 && (b & 0x40) != 0) {
                result |= -1L << shift;
            }
            return result;
        }

        boolean atEnd() {
            return i == e.length;
        }
    }
}
