package dev.spyglass.internal.export;

import java.nio.charset.StandardCharsets;

import dev.spyglass.ThreadState;

/**
 * The constants of the compact recording ({@code .sgr}), shared by its writer ({@link CompactRecordingExporter})
 * and reader ({@link CompactRecordSource}) so the two cannot disagree; the layout is described in
 * {@link CompactRecordingExporter}.
 */
final class CompactFormat {

    /** The first bytes of every file: not UTF-8 and not gzip, so no text recording or gzip'ed file starts so. */
    static final byte[] MAGIC = {(byte) 0x89, 'S', 'G', 'R', '\r', '\n', 0x1a, '\n'};
    static final int VERSION = 1;

    static final int HEADER = 0x01;
    static final int END = 0x02;
    static final int STRING = 0x03;
    static final int FRAME = 0x04;
    static final int STACK = 0x05;
    static final int THREAD = 0x06;
    /** Every table starts over (ids from 0 again): what keeps the writer's and reader's memory bounded. */
    static final int RESET = 0x07;
    /** 0x40..0x7f: a record of a later version, its length as a varint, then that many bytes; skipped. */
    static final int FIRST_SKIPPABLE = 0x40;
    static final int LAST_SKIPPABLE = 0x7f;
    /** 0x80..0x8f: a sample, the low two bits its GIL flag, the next two its thread state. */
    static final int SAMPLE = 0x80;

    /**
     * Table bounds. The writer resets its tables before one would pass its bound; a reader refuses a file that
     * passes one, so a damaged or hostile file cannot make it hold more. 64 Ki distinct strings, frames, stacks
     * and threads hold a long recording of a large program without a reset (the tables of a 10 s recording of a
     * web server stay in the thousands).
     */
    static final int MAX_ENTRIES = 1 << 16;
    /** The bytes of all strings of the table together (UTF-8). */
    static final long MAX_STRING_TABLE_BYTES = 32L << 20;
    /** The frame references of all stacks of the table together. */
    static final long MAX_STACK_TABLE_FRAMES = 4L << 20;
    /** One string (a file name, a function, a command-line argument...). */
    static final int MAX_STRING_BYTES = 1 << 20;
    /**
     * The frames of one stack: far more than the sampler walks, and few enough that any one sample's strings
     * (three per frame at most, and the thread's name) fit in empty tables.
     */
    static final int MAX_STACK_DEPTH = 1 << 14;
    /** The strings of a header or end record together (command line and properties). */
    static final int MAX_METADATA_BYTES = 4 << 20;
    /** A record of a later version that is skipped. */
    static final int MAX_SKIPPED_BYTES = 16 << 20;

    private CompactFormat() {
    }

    /** The two state bits of a sample's tag. */
    static int stateBits(ThreadState state) {
        return switch (state) {
            case RUNNING -> 0;
            case IDLE -> 1;
            case UNKNOWN -> 2;
        };
    }

    /** The state the bits name, or {@code null} for the unused value 3. */
    static ThreadState state(int bits) {
        return switch (bits) {
            case 0 -> ThreadState.RUNNING;
            case 1 -> ThreadState.IDLE;
            case 2 -> ThreadState.UNKNOWN;
            default -> null;
        };
    }

    /** The two GIL bits of a sample's tag: 0 unknown, 1 not held, 2 held. */
    static int gilBits(Boolean gil) {
        return gil == null ? 0 : gil ? 2 : 1;
    }

    static boolean startsWithMagic(byte[] head, int length) {
        if (length < MAGIC.length) {
            return false;
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (head[i] != MAGIC[i]) {
                return false;
            }
        }
        return true;
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
