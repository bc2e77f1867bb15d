package dev.spyglass;

import java.util.Objects;

/**
 * A C function of a target process to probe with {@link FunctionProbes}: by symbol (in a named library or
 * object, or searched in the executable and then every mapped object) or by the run-time address of its first
 * instruction (for a stripped binary whose function is in no symbol table).
 *
 * @param symbol  the symbol name (without version suffix), or {@code null} when probing by address
 * @param library which mapped object holds it: a full path, a file name, or its start ({@code "libpython3.12"},
 *                {@code "_mysql"}, {@code "libc.so"}); {@code null} for the executable, then every object
 * @param address the run-time address (when {@code symbol} is {@code null})
 */
public record ProbedFunction(String symbol, String library, long address) {

    public ProbedFunction {
        if (symbol == null && address == 0) {
            throw new IllegalArgumentException("a symbol or an address");
        }
    }

    /** The function {@code symbol} of the executable, else of the first mapped object defining it. */
    public static ProbedFunction named(String symbol) {
        return new ProbedFunction(Objects.requireNonNull(symbol, "symbol"), null, 0);
    }

    /** The function {@code symbol} of the object {@code library} (a path, a file name or its start). */
    public static ProbedFunction named(String symbol, String library) {
        return new ProbedFunction(Objects.requireNonNull(symbol, "symbol"), library, 0);
    }

    /** The function whose first instruction is at {@code address} in the target (as gdb or perf shows it). */
    public static ProbedFunction at(long address) {
        return new ProbedFunction(null, null, address);
    }

    @Override
    public String toString() {
        return symbol != null ? symbol + (library != null ? " in " + library : "") : "0x" + Long.toHexString(address);
    }
}
