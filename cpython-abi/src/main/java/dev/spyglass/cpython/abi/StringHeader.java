package dev.spyglass.cpython.abi;

/**
 * What {@link StringDecoder} learned from a string or bytes object's header: how its characters are
 * stored, how many there are, and where to read (the first {@link #byteCount()} bytes, already capped).
 *
 * <p>Two places are possible: <em>inline</em>, at {@link #inlineOffset()} bytes from the start of the
 * object (compact PEP 393 strings, bytes objects, 2.7 {@code str}), or at the absolute target address
 * {@link #dataAddress()} (legacy non-compact strings: {@code str} subclasses, 3.3 – 3.11 strings made
 * through the old {@code Py_UNICODE} API, and 2.7 {@code unicode}).
 *
 * @param kind         storage of the characters
 * @param compact      {@code true} for compact PEP 393 strings, bytes objects and 2.7 {@code str}
 *                     (characters follow the header in the same block); {@code false} when the
 *                     characters live in a separate buffer
 * @param length       the object's length in characters (code units for {@link StringKind#UCS2}, bytes for
 *                     {@link StringKind#BYTES}) as the target records it; not capped, 0 or more
 * @param inlineOffset byte offset of the characters from the start of the object, or -1 when they
 *                     are at {@link #dataAddress()}
 * @param dataAddress  target address of the characters, or 0 when they are inline
 * @param byteCount    how many bytes of characters to read: {@code min(length, cap) * kind.unitSize()}
 * @param truncated    {@code true} when {@code length} exceeds the decoder's cap, so only the first
 *                     characters are read (and {@link StringDecoder#decode} marks the text)
 */
public record StringHeader(StringKind kind, boolean compact, long length, long inlineOffset, long dataAddress,
        int byteCount, boolean truncated) {

    /** {@code true} when the characters follow the header inside the object. */
    public boolean isInline() {
        return inlineOffset >= 0;
    }

    /**
     * {@code true} when the characters are inline and entirely inside the first {@code prefixSize}
     * bytes of the object, so {@link StringDecoder#decodeFromPrefix} needs no further read.
     */
    public boolean isCompleteIn(long prefixSize) {
        return isInline() && inlineOffset + byteCount <= prefixSize;
    }

    /** The number of characters (code units) that will be decoded: {@code byteCount / unitSize}. */
    public int unitsToDecode() {
        return byteCount / kind.unitSize();
    }
}
