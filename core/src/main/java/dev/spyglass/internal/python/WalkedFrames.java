package dev.spyglass.internal.python;

import java.util.Arrays;

/**
 * One thread's stack as a frame walker leaves it, innermost first, before code objects are resolved:
 * per frame the code object's address, the instruction (≤3.10 {@code f_lasti}, 3.11+ the
 * {@code instr_ptr} address), the 3.14t per-thread bytecode index, and whether a C-level call of the
 * evaluation loop starts at this frame.
 *
 * <p>Entry frames are kept for merging native stacks later: the native stack holds one
 * {@code _PyEval_EvalFrameDefault} (or {@code PyEval_EvalFrameEx}) per entry, and the Python frames
 * from one entry frame inwards belong to that C frame. ≤3.10 every frame is its own C-level call;
 * 3.11 marks them with {@code is_entry}; 3.12 and 3.13 push a shim frame owned by the C stack below
 * them, 3.14+ one owned by the interpreter. Reused from walk to walk; not thread-safe.
 */
final class WalkedFrames {
    long[] code = new long[256];
    long[] instr = new long[256];
    int[] tlbc = new int[256];
    boolean[] entry = new boolean[256];
    int count;

    void clear() {
        count = 0;
    }

    /** Appends a frame; returns its index. */
    int add(long codeAddress, long instruction, int tlbcIndex, boolean isEntry) {
        if (count == code.length) {
            int n = count * 2;
            code = Arrays.copyOf(code, n);
            instr = Arrays.copyOf(instr, n);
            tlbc = Arrays.copyOf(tlbc, n);
            entry = Arrays.copyOf(entry, n);
        }
        code[count] = codeAddress;
        instr[count] = instruction;
        tlbc[count] = tlbcIndex;
        entry[count] = isEntry;
        return count++;
    }

    /** Marks the latest frame as the first of a C-level call of the evaluation loop (3.12+ shim below it). */
    void markLastAsEntry() {
        if (count > 0) {
            entry[count - 1] = true;
        }
    }
}
