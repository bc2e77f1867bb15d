package dev.spyglass.elf;

import dev.spyglass.elf.UnwindTable.Cfa;
import dev.spyglass.elf.UnwindTable.Saved;

/**
 * The rules in force at one point of a function while its CFI instructions run: the CFA, the return
 * address and {@code rbp} (the only registers an x86-64 unwinder needs to reach the caller). Mutable;
 * {@link #copy()} makes the snapshots that {@code DW_CFA_remember_state} and the initial state keep.
 */
final class CfiRow {
    static final int RBP = 6;
    static final int RSP = 7;

    /** The CFA's register when the CFA is register + offset; -1 when an expression defines it. */
    int cfaRegister = RSP;
    long cfaOffset;
    /** Set when an expression defines the CFA: PLT, DEREF_RSP_OFFSET or UNSUPPORTED. */
    Cfa cfaExpression;
    int pltThreshold;
    Saved ra = Saved.UNDEFINED;
    long raOffset;
    Saved rbp = Saved.SAME;
    long rbpOffset;

    CfiRow copy() {
        CfiRow r = new CfiRow();
        r.cfaRegister = cfaRegister;
        r.cfaOffset = cfaOffset;
        r.cfaExpression = cfaExpression;
        r.pltThreshold = pltThreshold;
        r.ra = ra;
        r.raOffset = raOffset;
        r.rbp = rbp;
        r.rbpOffset = rbpOffset;
        return r;
    }

    Cfa cfaKind() {
        if (cfaExpression != null) {
            return cfaExpression;
        }
        if (!fitsInt(cfaOffset)) {
            return Cfa.UNSUPPORTED;
        }
        return switch (cfaRegister) {
            case RSP -> Cfa.RSP_OFFSET;
            case RBP -> Cfa.RBP_OFFSET;
            default -> Cfa.UNSUPPORTED;
        };
    }

    /** The table's packed offset for the CFA (for a PLT: threshold in the upper 16 bits). */
    int packedCfaOffset() {
        Cfa kind = cfaKind();
        if (kind == Cfa.PLT) {
            return (pltThreshold << 16) | ((int) cfaOffset & 0xffff);
        }
        return kind == Cfa.UNSUPPORTED ? 0 : (int) cfaOffset;
    }

    static Saved fit(Saved rule, long offset) {
        return (rule == Saved.AT_CFA_OFFSET || rule == Saved.AT_RSP_OFFSET) && !fitsInt(offset) ? Saved.UNSUPPORTED : rule;
    }

    static boolean fitsInt(long v) {
        return v == (int) v;
    }

    /** Sets the rule of DWARF register {@code reg}; {@code raColumn} is the CIE's return address column. */
    void set(int reg, int raColumn, Saved rule, long offset) {
        if (reg == raColumn) {
            ra = rule;
            raOffset = offset;
        } else if (reg == RBP) {
            rbp = rule;
            rbpOffset = offset;
        }
        // Other registers: not needed to find the caller on x86-64.
    }

    /** Restores register {@code reg} to its rule in {@code initial} ({@code DW_CFA_restore}). */
    void restore(int reg, int raColumn, CfiRow initial) {
        if (reg == raColumn) {
            ra = initial.ra;
            raOffset = initial.raOffset;
        } else if (reg == RBP) {
            rbp = initial.rbp;
            rbpOffset = initial.rbpOffset;
        }
    }

    boolean sameRules(CfiRow o) {
        return cfaKind() == o.cfaKind() && packedCfaOffset() == o.packedCfaOffset() && ra == o.ra
                && raOffset == o.raOffset && rbp == o.rbp && rbpOffset == o.rbpOffset;
    }
}
