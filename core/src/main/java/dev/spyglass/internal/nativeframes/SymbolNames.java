package dev.spyglass.internal.nativeframes;

/**
 * An ELF symbol's name as a person reads it in a native frame: without its symbol version, and
 * demangled when it is a C++ ({@code _Z}), Rust ({@code _ZN...17h<hash>E}, {@code _R}) or Cython
 * ({@code __pyx_pw_...}) name. Plain C names, by far the most frequent in CPython's own frames, come
 * back as the same string without allocation.
 *
 * <p>C++ names are shown as py-spy shows them (cpp_demangle with {@code no_params}) and as
 * {@code c++filt --no-params} does: {@code _ZNK3Foo3getEi} is {@code Foo::get}, without parameters,
 * return type or {@code const}. A clone's suffix ({@code .cold}, {@code .constprop.0}, {@code .isra.0},
 * {@code .part.0}) is dropped, as c++filt drops it there, so that the cold part of a function adds to
 * the function in a flame graph. Rust names lose their hash ({@code ::h0123456789abcdef}) and crate
 * disambiguators, as py-spy prints them.
 *
 * <p>Names are read from files of the target process: any input, however malformed, returns within
 * bounded work and recursion, never throws, and a name not understood comes back unchanged. Results are
 * not cached here: a caller that shows many frames keeps its own cache by address.
 */
public final class SymbolNames {
    private SymbolNames() {
    }

    /**
     * {@code symbol} as it should be shown.
     *
     * @param symbol an ELF symbol name, possibly with a version ({@code @GLIBC_2.2.5},
     *               {@code @@GLIBC_2.17}); not null
     * @return the readable name; {@code symbol} itself when there is nothing to change
     */
    public static String readable(String symbol) {
        String name = withoutVersion(symbol);
        if (name.length() < 3 || name.charAt(0) != '_') {
            return name;
        }
        char second = name.charAt(1);
        String readable = null;
        if (second == 'Z') {
            readable = RustDemangler.legacy(name);
            if (readable == null) {
                readable = ItaniumDemangler.demangle(name);
            }
        } else if (second == 'R') {
            readable = RustDemangler.v0(name);
        } else if (second == '_' && name.startsWith("__pyx_")) {
            readable = CythonNames.readable(name);
        }
        return readable == null ? name : readable;
    }

    /**
     * {@code clock_nanosleep@@GLIBC_2.17} as {@code clock_nanosleep}: {@code .dynsym} names carry no
     * version (it is in {@code .gnu.version}), but a debug file's {@code .symtab} keeps them in the name.
     * A name starting with {@code @} is left alone: it has no name before the version.
     */
    static String withoutVersion(String name) {
        int at = name.indexOf('@');
        return at > 0 ? name.substring(0, at) : name;
    }
}
