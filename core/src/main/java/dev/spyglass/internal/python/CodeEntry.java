package dev.spyglass.internal.python;

import dev.spyglass.Frame;
import dev.spyglass.cpython.abi.LineTable;
import dev.spyglass.cpython.abi.Location;

/**
 * A decoded code object: names, file, line table, and the header words that identify it. A cached
 * entry is used only while the words read from the target at its address still match (a freed code
 * object's address can be reused by another: Austin 4.0 reported the wrong function that way), and
 * maps each instruction offset to its interned {@link Frame} once, so a steady-state sample decodes
 * nothing and allocates no frame.
 */
final class CodeEntry {
    /** Header words compared on every use, in this order (see {@link ReaderSpans#CODE_KEY}). */
    final long[] key;
    final String function;
    final String qualifiedName;
    final String file;
    final LineTable lines;
    final boolean columns;
    /** Size of the bytecode in bytes when known (3.11+: ob_size code units), else -1. */
    final long codeBytes;
    /**
     * 3.14t: start of each per-thread bytecode copy read so far, by {@code tlbc_index} (0 = not read);
     * null until a frame with a non-zero index uses this code. Only the sampling thread touches it.
     */
    long[] tlbcStarts;

    private static final int MAX_MEMO = 4096;
    private int[] memoKeys = new int[16];
    private Frame[] memoFrames = new Frame[16];
    private int memoSize;
    private final int firstLine;
    private final FrameInterner interner;

    /** An entry whose frames go through {@code interner}, the one of the target being read. */
    CodeEntry(long[] key, String function, String qualifiedName, String file, int firstLine, LineTable lines,
            boolean columns, long codeBytes, FrameInterner interner) {
        this.interner = interner;
        this.key = key;
        this.firstLine = Math.max(firstLine, 0);
        this.function = function;
        this.qualifiedName = qualifiedName;
        this.file = file;
        this.lines = lines;
        this.columns = columns;
        this.codeBytes = codeBytes;
    }

    boolean matches(long[] words) {
        for (int i = 0; i < key.length; i++) {
            if (key[i] != words[i]) {
                return false;
            }
        }
        return true;
    }

    /** The interned frame for the instruction at {@code byteOffset} (-2 or more). */
    Frame frame(int byteOffset) {
        int k = byteOffset + 3;
        int mask = memoKeys.length - 1;
        int i = (k * 0x9E3779B9) >>> 16 & mask;
        while (true) {
            int mk = memoKeys[i];
            if (mk == k) {
                return memoFrames[i];
            }
            if (mk == 0) {
                break;
            }
            i = (i + 1) & mask;
        }
        Frame f = make(byteOffset);
        if (memoSize < MAX_MEMO) {
            if ((memoSize + 1) * 2 > memoKeys.length) {
                growMemo();
                i = (k * 0x9E3779B9) >>> 16 & (memoKeys.length - 1);
                while (memoKeys[i] != 0) {
                    i = (i + 1) & (memoKeys.length - 1);
                }
            }
            memoKeys[i] = k;
            memoFrames[i] = f;
            memoSize++;
        }
        return f;
    }

    private Frame make(int byteOffset) {
        if (columns) {
            Location loc = lines.location(byteOffset);
            int line = Math.max(loc.line(), 0);
            return interner.intern(new Frame(Frame.FrameKind.PYTHON, function, qualifiedName, file, line,
                    Math.max(loc.endLine(), 0), loc.column(), loc.endColumn(), firstLine));
        }
        int line = lines.line(byteOffset);
        return interner.intern(Frame.python(function, qualifiedName, file, Math.max(line, 0), firstLine));
    }

    private void growMemo() {
        int[] oldKeys = memoKeys;
        Frame[] oldFrames = memoFrames;
        memoKeys = new int[oldKeys.length * 2];
        memoFrames = new Frame[oldKeys.length * 2];
        int mask = memoKeys.length - 1;
        for (int j = 0; j < oldKeys.length; j++) {
            if (oldKeys[j] != 0) {
                int i = (oldKeys[j] * 0x9E3779B9) >>> 16 & mask;
                while (memoKeys[i] != 0) {
                    i = (i + 1) & mask;
                }
                memoKeys[i] = oldKeys[j];
                memoFrames[i] = oldFrames[j];
            }
        }
    }
}
