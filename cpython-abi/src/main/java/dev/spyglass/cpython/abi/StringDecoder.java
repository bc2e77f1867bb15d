package dev.spyglass.cpython.abi;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * Decodes CPython string and bytes objects from bytes copied out of the target, in two steps so the
 * caller controls every read:
 * <ol>
 *   <li>{@link #header} (or {@link #bytesHeader}, {@link #unicode27Header}) over a prefix of the
 *       object (at least {@link #prefixSize()} bytes; reading a fixed 256 bytes is fine) validates the
 *       header and says where the characters are and how many bytes to read, already capped;</li>
 *   <li>{@link #decode} (or {@link #bytesContent}) over exactly those bytes: taken from the prefix
 *       when {@link StringHeader#isCompleteIn} says they are there ({@link #decodeFromPrefix}), else
 *       read from the object at {@link StringHeader#inlineOffset()} or from
 *       {@link StringHeader#dataAddress()}.</li>
 * </ol>
 *
 * <h2>What it understands</h2>
 * <ul>
 *   <li>3.3+ {@code str} (PEP 393): compact ASCII, compact Latin-1 / UCS2 / UCS4, and legacy
 *       non-compact strings ({@code str} subclasses; 3.3 – 3.11 strings made with the deprecated
 *       {@code Py_UNICODE} API, ready or not). Offsets come from the {@link Layout}
 *       ({@link Field#UNICODE_LENGTH}, {@link Field#UNICODE_STATE}, {@link Field#UNICODE_ASCII_DATA},
 *       {@link Field#UNICODE_COMPACT_DATA}, {@link Field#UNICODE_DATA_PTR}), so the smaller 3.12+
 *       header (no {@code wstr}) and free-threaded object headers need nothing special here. The
 *       {@code state} bit field is read per version: 3.3 – 3.11 {@code interned:2 kind:3 compact:1
 *       ascii:1 ready:1}; 3.12+ {@code interned:2 kind:3 compact:1 ascii:1 statically_allocated:1}
 *       (no {@code ready}; interned may be 3, "immortal static"); 3.14+ free-threaded builds keep
 *       {@code interned} in a whole byte, shifting the other bits up by 8.</li>
 *   <li>{@code bytes} (3.x) and 2.7 {@code str} ({@link Field#VAROBJECT_SIZE}, {@link Field#BYTES_DATA}).
 *       A 2.7 {@code str} decodes as UTF-8 with invalid sequences replaced by U+FFFD.</li>
 *   <li>2.7 {@code unicode} ({@link Field#UNICODE27_LENGTH}, {@link Field#UNICODE27_STR}) with the
 *       build's {@code Py_UNICODE} width (4 unless given: a UCS2 build exports
 *       {@code PyUnicodeUCS2_*} functions instead of {@code PyUnicodeUCS4_*}).</li>
 * </ul>
 *
 * <h2>Garbage</h2>
 * A header that no CPython object could have (unknown kind, {@code ascii} without 1-byte kind,
 * {@code compact} without {@code ready}, an impossible interned value, a negative length or one no
 * address space could hold, a null or misaligned data pointer) and characters a string of that kind
 * cannot contain (a byte ≥ 0x80 in an ASCII string, a code point above U+10FFFF) raise
 * {@link MalformedObjectException}. Nothing allocates more than the cap, whatever the header says.
 *
 * <p>Instances are immutable and thread-safe. Byte order is the machine's own (the target runs on the
 * same machine).
 */
public final class StringDecoder {

    /** Appended to a text cut at the cap: U+2026 HORIZONTAL ELLIPSIS. */
    public static final String TRUNCATION_MARK = "\u2026";

    /** Upper bound for the character cap. */
    public static final int MAX_CHARS_LIMIT = 1 << 24;

    /** No process on x86-64 Linux holds more: 128 TiB of user address space (4-level paging). */
    private static final long MAX_PLAUSIBLE_BYTES = 1L << 47;
    /** Highest user-space address with 5-level paging. */
    private static final long MAX_USER_ADDRESS = (1L << 56) - 1;

    private static final ValueLayout.OfLong WORD = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfChar CHAR = ValueLayout.JAVA_CHAR_UNALIGNED;

    /** Bit positions of PyASCIIObject.state, per version family. */
    private enum StateBits {
        /** 3.3 – 3.11: interned:2 kind:3 compact:1 ascii:1 ready:1. */
        PY33(0b11, 2, 2, 5, 6, 7),
        /** 3.12+: interned:2 kind:3 compact:1 ascii:1 statically_allocated:1 (ready removed). */
        PY312(0b11, 3, 2, 5, 6, -1),
        /** 3.14+ free-threaded: unsigned char interned; then kind:3 compact:1 ascii:1 statically_allocated:1. */
        PY314T(0xff, 3, 8, 11, 12, -1);

        final int internedMask;
        final int maxInterned;
        final int kindShift;
        final int compactBit;
        final int asciiBit;
        final int readyBit;

        StateBits(int internedMask, int maxInterned, int kindShift, int compactBit, int asciiBit, int readyBit) {
            this.internedMask = internedMask;
            this.maxInterned = maxInterned;
            this.kindShift = kindShift;
            this.compactBit = compactBit;
            this.asciiBit = asciiBit;
            this.readyBit = readyBit;
        }
    }

    private final Layout layout;
    private final PythonVersion version;
    private final int maxChars;
    private final int py27UnicodeWidth;
    private final boolean python2;
    private final StateBits stateBits;
    // Offsets, or -1 when the layout lacks them.
    private final long varSize;
    private final long bytesData;
    private final long uLength;
    private final long uState;
    private final long uAsciiData;
    private final long uCompactData;
    private final long uDataPtr;
    private final long u27Length;
    private final long u27Str;
    private final long prefixSize;

    /**
     * A decoder for 3.x strings and bytes, and 2.7 {@code str}, with a UCS4 {@code Py_UNICODE} for 2.7
     * {@code unicode}.
     *
     * @param layout   the target's layout; must have the string and bytes fields of its version
     * @param maxChars cap on decoded characters, 1 – {@link #MAX_CHARS_LIMIT}; longer strings are cut
     *                 and end in {@link #TRUNCATION_MARK}
     * @throws IllegalArgumentException when {@code maxChars} is out of range, the version is 3.0 – 3.2
     *                                  (no PEP 393) or the layout lacks a field the version needs
     */
    public StringDecoder(Layout layout, int maxChars) {
        this(layout, maxChars, 4);
    }

    /**
     * Like {@link #StringDecoder(Layout, int)} with the width of 2.7's {@code Py_UNICODE}: 2 for narrow
     * ({@code --enable-unicode=ucs2}) builds, 4 for wide ones. Ignored for 3.x.
     */
    public StringDecoder(Layout layout, int maxChars, int py27UnicodeWidth) {
        this.layout = Objects.requireNonNull(layout, "layout");
        this.version = layout.version();
        if (maxChars < 1 || maxChars > MAX_CHARS_LIMIT) {
            throw new IllegalArgumentException("maxChars must be 1 – " + MAX_CHARS_LIMIT + ": " + maxChars);
        }
        if (py27UnicodeWidth != 2 && py27UnicodeWidth != 4) {
            throw new IllegalArgumentException("py27UnicodeWidth must be 2 or 4: " + py27UnicodeWidth);
        }
        this.maxChars = maxChars;
        this.py27UnicodeWidth = py27UnicodeWidth;
        this.python2 = version.major() < 3;
        if (version.major() == 3 && version.minor() < 3) {
            throw new IllegalArgumentException("CPython " + version + " predates PEP 393 strings: not supported");
        }
        this.varSize = need(Field.VAROBJECT_SIZE);
        this.bytesData = need(Field.BYTES_DATA);
        if (python2) {
            stateBits = null;
            uLength = uState = uAsciiData = uCompactData = uDataPtr = -1;
            prefixSize = bytesData;
        } else {
            stateBits = !version.isAtLeast(3, 12) ? StateBits.PY33
                    : version.isAtLeast(3, 14) && version.freeThreaded() ? StateBits.PY314T : StateBits.PY312;
            uLength = need(Field.UNICODE_LENGTH);
            uState = need(Field.UNICODE_STATE);
            uAsciiData = need(Field.UNICODE_ASCII_DATA);
            uCompactData = need(Field.UNICODE_COMPACT_DATA);
            uDataPtr = need(Field.UNICODE_DATA_PTR);
            prefixSize = Math.max(Math.max(uState + 4, uDataPtr + 8), Math.max(uLength + 8, uCompactData));
        }
        this.u27Length = layout.offset(Field.UNICODE27_LENGTH);
        this.u27Str = layout.offset(Field.UNICODE27_STR);
    }

    private long need(Field f) {
        if (!layout.has(f)) {
            throw new IllegalArgumentException(layout + " has no " + f + ", which a StringDecoder for CPython "
                    + version + " needs");
        }
        return layout.offset(f);
    }

    /** The character cap given at construction. */
    public int maxChars() {
        return maxChars;
    }

    /**
     * The fewest bytes of an object {@link #header} needs (3.x: {@code sizeof(PyUnicodeObject)}, enough
     * for every string form; 2.7: the {@code str} header). Reading more is fine.
     */
    public long prefixSize() {
        return prefixSize;
    }

    /**
     * Reads the header of the version's text type: a 3.3+ {@code str} ({@code PyUnicodeObject}) or a
     * 2.7 {@code str} ({@code PyStringObject}, what 2.7 code objects hold for names and file names).
     *
     * @param objectPrefix the first bytes of the object, at least {@link #prefixSize()}
     * @throws MalformedObjectException when the header is not one CPython can produce
     * @throws IllegalArgumentException when the prefix is shorter than {@link #prefixSize()}
     */
    public StringHeader header(MemorySegment objectPrefix) throws MalformedObjectException {
        Objects.requireNonNull(objectPrefix, "objectPrefix");
        if (python2) {
            return str27Header(objectPrefix);
        }
        requirePrefix(objectPrefix, prefixSize, "str");
        long length = objectPrefix.get(WORD, uLength);
        int state = objectPrefix.get(INT, uState);
        StateBits sb = stateBits;
        int interned = state & sb.internedMask;
        int kind = (state >>> sb.kindShift) & 7;
        boolean compact = ((state >>> sb.compactBit) & 1) != 0;
        boolean ascii = ((state >>> sb.asciiBit) & 1) != 0;
        boolean ready = sb.readyBit < 0 || ((state >>> sb.readyBit) & 1) != 0;
        if (interned > sb.maxInterned) {
            throw malformed("str", "interned state " + interned + " (at most " + sb.maxInterned + ")", state);
        }
        if (ascii && kind != 1) {
            throw malformed("str", "ascii flag with kind " + kind, state);
        }
        if (kind == 0 && sb == StateBits.PY33 && !ready && !compact && !ascii) {
            return notReadyLegacyHeader(objectPrefix, state);
        }
        if (kind != 1 && kind != 2 && kind != 4) {
            throw malformed("str", "kind " + kind + " (expected 1, 2 or 4)", state);
        }
        if (!ready) {
            throw malformed("str", "kind " + kind + " without the ready flag", state);
        }
        StringKind sk = kind == 1 ? (ascii ? StringKind.ASCII : StringKind.LATIN1)
                : kind == 2 ? StringKind.UCS2 : StringKind.UCS4;
        checkLength("str", length, kind);
        int units = (int) Math.min(length, maxChars);
        boolean truncated = length > maxChars;
        if (compact) {
            return new StringHeader(sk, true, length, ascii ? uAsciiData : uCompactData, 0, units * kind, truncated);
        }
        long data = objectPrefix.get(WORD, uDataPtr);
        checkPointer("str data.any", data, kind);
        return new StringHeader(sk, false, length, -1, data, units * kind, truncated);
    }

    /**
     * A 3.3 – 3.11 string made by the deprecated {@code PyUnicode_FromUnicode(NULL, n)} and not made ready:
     * its only characters are the {@code wchar_t} (UCS4 on Linux) buffer {@code wstr}, of
     * {@code wstr_length} units. {@code wstr} is the last member of {@code PyASCIIObject} and
     * {@code wstr_length} the last of {@code PyCompactUnicodeObject} in those versions, hence the offsets
     * derived from the two struct sizes.
     */
    private StringHeader notReadyLegacyHeader(MemorySegment p, int state) throws MalformedObjectException {
        long wstr = p.get(WORD, uAsciiData - 8);
        long wstrLength = p.get(WORD, uCompactData - 8);
        checkLength("legacy str (not ready)", wstrLength, 4);
        checkPointer("legacy str (not ready) wstr", wstr, 4);
        int units = (int) Math.min(wstrLength, maxChars);
        return new StringHeader(StringKind.UCS4, false, wstrLength, -1, wstr, units * 4, wstrLength > maxChars);
    }

    private StringHeader str27Header(MemorySegment p) throws MalformedObjectException {
        requirePrefix(p, bytesData, "2.7 str");
        long size = p.get(WORD, varSize);
        // ob_sstate (int) sits right before ob_sval: SSTATE_NOT_INTERNED, _INTERNED_MORTAL, _INTERNED_IMMORTAL.
        int sstate = p.get(INT, bytesData - 4);
        if (sstate < 0 || sstate > 2) {
            throw new MalformedObjectException("2.7 str has ob_sstate " + sstate + " (expected 0, 1 or 2)");
        }
        checkLength("2.7 str", size, 1);
        int units = (int) Math.min(size, maxChars);
        return new StringHeader(StringKind.BYTES, true, size, bytesData, 0, units, size > maxChars);
    }

    /**
     * Reads the header of a 2.7 {@code unicode} object: {@code length} and the {@code str} pointer to
     * its {@code Py_UNICODE} buffer.
     *
     * @throws IllegalStateException    when the decoder is not for 2.7 or its layout lacks the 2.7 unicode fields
     * @throws MalformedObjectException on a negative or implausible length, or a null or misaligned pointer
     */
    public StringHeader unicode27Header(MemorySegment objectPrefix) throws MalformedObjectException {
        Objects.requireNonNull(objectPrefix, "objectPrefix");
        if (!python2 || u27Length < 0 || u27Str < 0) {
            throw new IllegalStateException(layout + " has no 2.7 unicode fields (UNICODE27_LENGTH, UNICODE27_STR)");
        }
        requirePrefix(objectPrefix, Math.max(u27Length, u27Str) + 8, "2.7 unicode");
        long length = objectPrefix.get(WORD, u27Length);
        long str = objectPrefix.get(WORD, u27Str);
        int w = py27UnicodeWidth;
        checkLength("2.7 unicode", length, w);
        checkPointer("2.7 unicode str", str, w);
        int units = (int) Math.min(length, maxChars);
        return new StringHeader(w == 2 ? StringKind.UCS2 : StringKind.UCS4, false, length, -1, str, units * w,
                length > maxChars);
    }

    /**
     * Reads the header of a bytes object (3.x {@code bytes}, 2.7 {@code str}), such as a code object's
     * {@code co_code}, {@code co_lnotab} or {@code co_linetable}.
     *
     * @param objectPrefix the first bytes of the object, at least {@code BYTES_DATA} of them
     * @param maxBytes     cap on the content to read, 0 or more; a longer object is marked truncated
     * @throws MalformedObjectException on a negative or implausible size (or, on 2.7, a bad {@code ob_sstate})
     */
    public StringHeader bytesHeader(MemorySegment objectPrefix, int maxBytes) throws MalformedObjectException {
        Objects.requireNonNull(objectPrefix, "objectPrefix");
        if (maxBytes < 0) {
            throw new IllegalArgumentException("maxBytes < 0: " + maxBytes);
        }
        requirePrefix(objectPrefix, bytesData, "bytes");
        long size = objectPrefix.get(WORD, varSize);
        if (python2) {
            int sstate = objectPrefix.get(INT, bytesData - 4);
            if (sstate < 0 || sstate > 2) {
                throw new MalformedObjectException("2.7 str has ob_sstate " + sstate + " (expected 0, 1 or 2)");
            }
        }
        checkLength("bytes", size, 1);
        int n = (int) Math.min(size, maxBytes);
        return new StringHeader(StringKind.BYTES, true, size, bytesData, 0, n, size > maxBytes);
    }

    /**
     * Decodes the characters {@code header} describes.
     *
     * @param header         from this decoder
     * @param characterBytes the {@code header.byteCount()} bytes at the inline offset or the data address
     *                       (more are ignored)
     * @return the text, ending in {@link #TRUNCATION_MARK} when {@code header.truncated()}
     * @throws MalformedObjectException when a character is impossible for the kind (ASCII ≥ 0x80, UCS4
     *                                  above U+10FFFF)
     * @throws IllegalArgumentException when fewer than {@code byteCount} bytes are given
     */
    public String decode(StringHeader header, MemorySegment characterBytes) throws MalformedObjectException {
        Objects.requireNonNull(header, "header");
        Objects.requireNonNull(characterBytes, "characterBytes");
        int count = header.byteCount();
        if (count < 0 || characterBytes.byteSize() < count) {
            throw new IllegalArgumentException("header needs " + count + " character bytes, got "
                    + characterBytes.byteSize());
        }
        int units = header.unitsToDecode();
        String text = switch (header.kind()) {
            case ASCII -> {
                byte[] b = toBytes(characterBytes, count);
                for (int i = 0; i < b.length; i++) {
                    if (b[i] < 0) {
                        throw new MalformedObjectException("ASCII str has byte 0x" + Integer.toHexString(b[i] & 0xff)
                                + " at index " + i);
                    }
                }
                yield new String(b, StandardCharsets.ISO_8859_1);
            }
            case LATIN1 -> new String(toBytes(characterBytes, count), StandardCharsets.ISO_8859_1);
            case BYTES -> new String(toBytes(characterBytes, count), StandardCharsets.UTF_8);
            case UCS2 -> {
                char[] c = new char[units];
                for (int i = 0; i < units; i++) {
                    c[i] = characterBytes.get(CHAR, 2L * i);
                }
                yield new String(c);
            }
            case UCS4 -> {
                StringBuilder sb = new StringBuilder(units + 8);
                for (int i = 0; i < units; i++) {
                    int cp = characterBytes.get(INT, 4L * i);
                    if (cp < 0 || cp > Character.MAX_CODE_POINT) {
                        throw new MalformedObjectException("UCS4 str has code point 0x" + Integer.toHexString(cp)
                                + " at index " + i + " (above U+10FFFF)");
                    }
                    sb.appendCodePoint(cp);
                }
                yield sb.toString();
            }
        };
        return header.truncated() ? text + TRUNCATION_MARK : text;
    }

    /**
     * Decodes a string whose characters are inside {@code objectPrefix} (the same bytes given to
     * {@link #header}): use when {@code header.isCompleteIn(objectPrefix.byteSize())}.
     *
     * @throws IllegalArgumentException when the characters are not all in the prefix
     */
    public String decodeFromPrefix(StringHeader header, MemorySegment objectPrefix) throws MalformedObjectException {
        Objects.requireNonNull(header, "header");
        if (!header.isCompleteIn(objectPrefix.byteSize())) {
            throw new IllegalArgumentException("characters are not within the " + objectPrefix.byteSize()
                    + "-byte prefix: " + header);
        }
        return decode(header, objectPrefix.asSlice(header.inlineOffset(), header.byteCount()));
    }

    /**
     * The content of a bytes object: the first {@code header.byteCount()} bytes of {@code bytes}.
     *
     * @throws IllegalArgumentException when {@code header} is not a {@link StringKind#BYTES} header or
     *                                  fewer bytes are given
     */
    public byte[] bytesContent(StringHeader header, MemorySegment bytes) {
        Objects.requireNonNull(header, "header");
        Objects.requireNonNull(bytes, "bytes");
        if (header.kind() != StringKind.BYTES) {
            throw new IllegalArgumentException("not a bytes header: " + header);
        }
        if (bytes.byteSize() < header.byteCount()) {
            throw new IllegalArgumentException("header needs " + header.byteCount() + " bytes, got " + bytes.byteSize());
        }
        return toBytes(bytes, header.byteCount());
    }

    private static byte[] toBytes(MemorySegment s, int count) {
        byte[] b = new byte[count];
        MemorySegment.copy(s, ValueLayout.JAVA_BYTE, 0, b, 0, count);
        return b;
    }

    private static void requirePrefix(MemorySegment p, long needed, String what) {
        if (p.byteSize() < needed) {
            throw new IllegalArgumentException("a " + what + " header needs " + needed + " bytes, got " + p.byteSize());
        }
    }

    private static void checkLength(String what, long length, int unit) throws MalformedObjectException {
        if (length < 0 || length > MAX_PLAUSIBLE_BYTES / unit) {
            throw new MalformedObjectException(what + " has length " + length
                    + (length < 0 ? " (negative)" : " (larger than any address space)"));
        }
    }

    private static void checkPointer(String what, long address, int unit) throws MalformedObjectException {
        if (address == 0 || address < 0 || address > MAX_USER_ADDRESS || address % unit != 0) {
            throw new MalformedObjectException(what + " pointer 0x" + Long.toHexString(address)
                    + " is null, outside user space or not aligned to " + unit);
        }
    }

    private MalformedObjectException malformed(String what, String problem, int state) {
        return new MalformedObjectException(what + " header (CPython " + version + ") has " + problem
                + "; state word 0x" + Integer.toHexString(state));
    }

    @Override
    public String toString() {
        return "StringDecoder[" + version + ", maxChars " + maxChars + "]";
    }
}
