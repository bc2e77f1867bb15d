package dev.spyglass.internal.nativeframes;

/**
 * The C functions Cython generates, named after the Python function they implement:
 * {@code __pyx_pw_6pandas_5_libs_7hashing_1hash_object_array} is
 * {@code pandas._libs.hashing.hash_object_array}.
 *
 * <p>Cython builds such a name from a prefix ({@code __pyx_pw_} the Python wrapper of a {@code def},
 * {@code __pyx_pf_} its body, {@code __pyx_f_} a {@code cdef} function, {@code __pyx_gb_} a generator's
 * body), then each enclosing scope as {@code <length><name>_} (the module's dotted name one part at a
 * time, then any class), then the function: for {@code def} functions and generators preceded by a
 * counter unique in the module ({@code 2spam}), for {@code cdef} functions not. A counter can look like a
 * length ({@code _5least_squares_cg}: index 5, or a scope "least"?); the reading chosen is the first
 * whose function name does not itself look like {@code _<digits>} followed by more scopes. Fused
 * specialisations ({@code __pyx_fuse_1_0__pyx_pw_...}) are read as the function they specialise.
 */
final class CythonNames {
    private CythonNames() {
    }

    /** Prefixes and whether the function name after the scopes starts with a counter. */
    private static final String[] INDEXED = {"__pyx_pw_", "__pyx_pf_", "__pyx_gb_"};
    private static final String[] PLAIN = {"__pyx_f_", "__pyx_tp_new_", "__pyx_tp_dealloc_",
        "__pyx_tp_traverse_", "__pyx_tp_clear_"};
    private static final String MODULE_EXEC = "__pyx_pymod_exec_";

    /** The dotted Python name, or null when {@code symbol} is not a Cython function name this reads. */
    static String readable(String symbol) {
        String name = symbol;
        if (name.startsWith("__pyx_fuse_")) {
            // __pyx_fuse_<n>[_<m>]__pyx_pw_...: the specialisation's numbers, then the usual name.
            int inner = name.indexOf("__pyx_", "__pyx_fuse_".length());
            if (inner < 0) {
                return null;
            }
            name = name.substring(inner);
        }
        if (name.startsWith(MODULE_EXEC) && name.length() > MODULE_EXEC.length()) {
            return name.substring(MODULE_EXEC.length()) + ".<module>";
        }
        for (String prefix : INDEXED) {
            if (name.startsWith(prefix)) {
                return dotted(name, prefix.length(), true);
            }
        }
        for (String prefix : PLAIN) {
            if (name.startsWith(prefix)) {
                return dotted(name, prefix.length(), false);
            }
        }
        return null;
    }

    private static String dotted(String name, int start, boolean indexed) {
        // The ends of each readable <length><name>_ scope, in order; the function is after one of them.
        int[] ends = new int[16];
        int count = 0;
        int pos = start;
        while (count < ends.length) {
            int digits = pos;
            int length = 0;
            while (digits < name.length() && Character.isDigit(name.charAt(digits)) && digits - pos < 4) {
                length = length * 10 + name.charAt(digits) - '0';
                digits++;
            }
            int end = digits + length;
            if (length == 0 || end + 1 >= name.length() || name.charAt(end) != '_') {
                break;
            }
            ends[count++] = end + 1;
            pos = end + 1;
        }
        if (count == 0) {
            return null;
        }
        int chosen = -1;
        for (int i = 0; i < count && chosen < 0; i++) {
            int f = functionStart(name, ends[i], indexed);
            if (f >= 0 && !name.substring(f).matches(".*_[0-9].*")) {
                chosen = i;
            }
        }
        if (chosen < 0) {
            chosen = count - 1;
        }
        int function = functionStart(name, ends[chosen], indexed);
        if (function < 0 || function >= name.length()) {
            return null;
        }
        StringBuilder sb = new StringBuilder(name.length());
        int p = start;
        for (int i = 0; i <= chosen; i++) {
            int digits = p;
            while (Character.isDigit(name.charAt(digits))) {
                digits++;
            }
            sb.append(name, digits, ends[i] - 1).append('.');
            p = ends[i];
        }
        return sb.append(name, function, name.length()).toString();
    }

    /** Where the function's own name starts after a scope ending at {@code pos}; -1 if it cannot. */
    private static int functionStart(String name, int pos, boolean indexed) {
        int p = pos;
        if (indexed) {
            while (p < name.length() && Character.isDigit(name.charAt(p))) {
                p++;
            }
        }
        if (p >= name.length() || Character.isDigit(name.charAt(p))) {
            return -1;
        }
        return p;
    }
}
