package dev.spyglass.cpython.abi;

/** How the characters of a string (or the bytes of a bytes object) are stored in the target. */
public enum StringKind {
    /** PEP 393 {@code PyUnicode_1BYTE_KIND} with {@code state.ascii}: every byte below 0x80. */
    ASCII(1),
    /** PEP 393 {@code PyUnicode_1BYTE_KIND}, not ASCII: Latin-1 (U+0000 – U+00FF). */
    LATIN1(1),
    /**
     * PEP 393 {@code PyUnicode_2BYTE_KIND} (U+0000 – U+FFFF), or a 2.7 {@code unicode} object of a
     * narrow ({@code --enable-unicode=ucs2}) build, whose code units are UTF-16.
     */
    UCS2(2),
    /**
     * PEP 393 {@code PyUnicode_4BYTE_KIND}; a 2.7 {@code unicode} object of a wide (UCS4) build; or the
     * {@code wchar_t} buffer of a 3.3 – 3.11 legacy string that is not "ready" yet ({@code kind == 0}).
     */
    UCS4(4),
    /**
     * Raw bytes: a {@code bytes} object, or a 2.7 {@code str} ({@code PyStringObject}), which
     * {@link StringDecoder#decode} reads as UTF-8 (invalid sequences become U+FFFD).
     */
    BYTES(1);

    private final int unitSize;

    StringKind(int unitSize) {
        this.unitSize = unitSize;
    }

    /** Bytes per character (code unit): 1, 2 or 4. */
    public int unitSize() {
        return unitSize;
    }
}
