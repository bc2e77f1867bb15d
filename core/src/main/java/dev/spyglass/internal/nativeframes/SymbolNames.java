package dev.spyglass.internal.nativeframes;

/** Symbol names as people read them. */
final class SymbolNames {
    private SymbolNames() {
    }

    /** {@code clock_nanosleep@@GLIBC_2.17} as {@code clock_nanosleep}. */
    static String readable(String symbol) {
        return NativeObjects.withoutVersion(symbol);
    }
}
