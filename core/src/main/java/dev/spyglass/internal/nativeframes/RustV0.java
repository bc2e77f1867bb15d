package dev.spyglass.internal.nativeframes;

import java.math.BigInteger;

/**
 * Rust's v0 symbol mangling (RFC 2603: {@code _R <path> [<instantiating crate>] [.suffix]}), printed as
 * rustc-demangle's alternate form: {@code _RNvNtCs1234_4core3ptr13drop_in_place} is
 * {@code core::ptr::drop_in_place}. Crate roots, nested paths, closures ({@code {closure#0}}), inherent
 * and trait impls ({@code <Foo>::bar}, {@code <Foo as Trait>::bar}), generic arguments, basic, reference,
 * pointer, array, slice, tuple, function and {@code dyn} types, integer/bool/char constants and
 * back-references are read; punycode identifiers and other constants are not (null: shown mangled).
 *
 * <p>Back-references point strictly backwards, recursion is bounded and the output is bounded: any input
 * ends quickly.
 */
final class RustV0 {
    private static final int MAX_DEPTH = 100;
    private static final int MAX_OUTPUT = 4096;
    private static final int MAX_STEPS = 100_000;

    private static final class Invalid extends RuntimeException {
        static final Invalid INSTANCE = new Invalid();

        private Invalid() {
            super("not a v0 Rust name this parser understands", null, false, false);
        }
    }

    private final String s;
    private int pos;
    private int depth;
    private int steps;
    private int boundLifetimes;
    private final StringBuilder out = new StringBuilder(64);

    private RustV0(String s) {
        this.s = s;
    }

    static String demangle(String symbol) {
        if (!symbol.startsWith("_R") || symbol.length() > 16_384) {
            return null;
        }
        // Paths and back-references count from after "_R"; a trailing ".llvm.123" or the like is not read.
        int dot = symbol.indexOf('.');
        RustV0 p = new RustV0(symbol.substring(2, dot < 0 ? symbol.length() : dot));
        try {
            if (p.peek() >= '0' && p.peek() <= '9') {
                throw Invalid.INSTANCE; // an encoding version other than the implied 0
            }
            p.path(true);
            if (p.pos < p.s.length() && Character.isUpperCase(p.peek())) {
                int mark = p.out.length();
                p.path(false); // the instantiating crate, not shown
                p.out.setLength(mark);
            }
            return p.pos == p.s.length() ? p.out.toString() : null;
        } catch (Invalid e) {
            return null;
        }
    }

    private char peek() {
        return pos < s.length() ? s.charAt(pos) : 0;
    }

    private char next() {
        if (pos >= s.length()) {
            throw Invalid.INSTANCE;
        }
        return s.charAt(pos++);
    }

    private boolean eat(char c) {
        if (peek() == c) {
            pos++;
            return true;
        }
        return false;
    }

    private void print(String text) {
        if (out.length() + text.length() > MAX_OUTPUT) {
            throw Invalid.INSTANCE;
        }
        out.append(text);
    }

    private void enter() {
        // Back-references re-read earlier text: the steps are bounded as well as the depth.
        if (++depth > MAX_DEPTH || ++steps > MAX_STEPS) {
            throw Invalid.INSTANCE;
        }
    }

    /** {@code <base-62-number>}: {@code _} is 0, {@code <digits> _} the digits' value plus one. */
    private long base62() {
        if (eat('_')) {
            return 0;
        }
        long n = 0;
        while (true) {
            char c = next();
            if (c == '_') {
                return n + 1;
            }
            int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'z' ? c - 'a' + 10
                    : c >= 'A' && c <= 'Z' ? c - 'A' + 36 : -1;
            if (v < 0) {
                throw Invalid.INSTANCE;
            }
            // Crate disambiguators are 64-bit hashes: saturate, a back-reference that large is refused anyway.
            n = n > (Long.MAX_VALUE - 62) / 62 ? Long.MAX_VALUE - 1 : n * 62 + v;
        }
    }

    /** {@code [s <base-62-number>]}: 0 when absent, else the number plus one. */
    private long disambiguator() {
        return eat('s') ? base62() + 1 : 0;
    }

    private int decimal() {
        if (eat('0')) {
            return 0; // no leading zeros: "00" is two empty identifiers (a closure's, then another's)
        }
        int start = pos;
        int n = 0;
        while (peek() >= '0' && peek() <= '9') {
            if (pos - start >= 9) {
                throw Invalid.INSTANCE;
            }
            n = n * 10 + next() - '0';
        }
        if (pos == start) {
            throw Invalid.INSTANCE;
        }
        return n;
    }

    /** {@code <identifier>}'s text (its disambiguator read and dropped); punycode is refused. */
    private String identifier() {
        disambiguator();
        if (peek() == 'u') {
            throw Invalid.INSTANCE;
        }
        int length = decimal();
        eat('_');
        if (length > s.length() - pos) {
            throw Invalid.INSTANCE;
        }
        String id = s.substring(pos, pos + length);
        pos += length;
        return id;
    }

    /** Runs {@code parser} at the position a back-reference names, then comes back. */
    private void backref(Runnable parser) {
        int tag = pos;
        pos++;
        long target = base62();
        if (target >= tag) {
            throw Invalid.INSTANCE; // only strictly backwards: no loops
        }
        int resume = pos;
        pos = (int) target;
        parser.run();
        pos = resume;
    }

    /** A path; {@code value} when generic arguments need the {@code ::<>} of an expression. */
    private void path(boolean value) {
        enter();
        char tag = next();
        switch (tag) {
            case 'C' -> print(identifier());
            case 'M' -> {
                disambiguator();
                skipPath();
                print("<");
                type();
                print(">");
            }
            case 'X' -> {
                disambiguator();
                skipPath();
                print("<");
                type();
                print(" as ");
                path(false);
                print(">");
            }
            case 'Y' -> {
                print("<");
                type();
                print(" as ");
                path(false);
                print(">");
            }
            case 'N' -> {
                char namespace = next();
                if (!Character.isLetter(namespace)) {
                    throw Invalid.INSTANCE;
                }
                path(value);
                long dis = disambiguator();
                String name = identifier();
                if (Character.isUpperCase(namespace)) {
                    String kind = namespace == 'C' ? "closure" : namespace == 'S' ? "shim" : String.valueOf(namespace);
                    print("::{" + kind + (name.isEmpty() ? "" : ":" + name) + "#" + dis + "}");
                } else if (!name.isEmpty()) {
                    print("::" + name);
                }
            }
            case 'I' -> {
                path(value);
                print(value ? "::<" : "<");
                boolean first = true;
                while (!eat('E')) {
                    if (!first) {
                        print(", ");
                    }
                    first = false;
                    genericArg();
                }
                print(">");
            }
            case 'B' -> {
                pos--;
                backref(() -> path(value));
            }
            default -> throw Invalid.INSTANCE;
        }
        depth--;
    }

    /** An impl's own path, which rustc-demangle does not show either. */
    private void skipPath() {
        int mark = out.length();
        path(false);
        out.setLength(mark);
    }

    private void genericArg() {
        if (eat('L')) {
            lifetime(base62());
        } else if (eat('K')) {
            constant();
        } else {
            type();
        }
    }

    private void lifetime(long index) {
        if (index == 0) {
            print("'_");
        } else if (index <= boundLifetimes) {
            long depthOf = boundLifetimes - index;
            print(depthOf < 26 ? "'" + (char) ('a' + depthOf) : "'_" + depthOf);
        } else {
            throw Invalid.INSTANCE;
        }
    }

    private void type() {
        enter();
        char tag = peek();
        String basic = RustDemangler.basicType(tag);
        if (basic != null) {
            pos++;
            print(basic);
            depth--;
            return;
        }
        pos++;
        switch (tag) {
            case 'R', 'Q' -> {
                print("&");
                if (peek() == 'L') {
                    pos++;
                    long lt = base62();
                    if (lt != 0) {
                        lifetime(lt);
                        print(" ");
                    }
                }
                print(tag == 'Q' ? "mut " : "");
                type();
            }
            case 'P' -> {
                print("*const ");
                type();
            }
            case 'O' -> {
                print("*mut ");
                type();
            }
            case 'A', 'S' -> {
                print("[");
                type();
                if (tag == 'A') {
                    print("; ");
                    constant();
                }
                print("]");
            }
            case 'T' -> {
                print("(");
                int count = 0;
                while (!eat('E')) {
                    if (count++ > 0) {
                        print(", ");
                    }
                    type();
                }
                print(count == 1 ? ",)" : ")");
            }
            case 'F' -> binder(this::fnSig);
            case 'D' -> {
                print("dyn ");
                binder(this::dynBounds);
                if (!eat('L')) {
                    throw Invalid.INSTANCE;
                }
                long lt = base62();
                if (lt != 0) {
                    print(" + ");
                    lifetime(lt);
                }
            }
            case 'B' -> {
                pos--;
                backref(this::type);
            }
            default -> {
                pos--;
                path(false);
            }
        }
        depth--;
    }

    /** {@code [G <base-62-number>]} lifetimes bound for what follows: {@code for<'a> }. */
    private void binder(Runnable inner) {
        int bound = 0;
        if (eat('G')) {
            long n = base62() + 1;
            if (n > 64) {
                throw Invalid.INSTANCE;
            }
            bound = (int) n;
            print("for<");
            for (int i = 0; i < bound; i++) {
                if (i > 0) {
                    print(", ");
                }
                boundLifetimes++;
                lifetime(1);
            }
            print("> ");
        }
        inner.run();
        boundLifetimes -= bound;
    }

    private void fnSig() {
        if (eat('U')) {
            print("unsafe ");
        }
        if (eat('K')) {
            String abi = eat('C') ? "C" : identifier().replace('_', '-');
            print("extern \"" + abi + "\" ");
        }
        print("fn(");
        int count = 0;
        while (!eat('E')) {
            if (count++ > 0) {
                print(", ");
            }
            type();
        }
        print(")");
        if (peek() == 'u') {
            pos++; // returns ()
        } else {
            print(" -> ");
            type();
        }
    }

    private void dynBounds() {
        int count = 0;
        while (!eat('E')) {
            if (count++ > 0) {
                print(" + ");
            }
            int start = out.length();
            path(false);
            boolean open = false;
            while (eat('p')) {
                String name = identifier();
                if (!open) {
                    if (out.length() > start && out.charAt(out.length() - 1) == '>') {
                        out.setLength(out.length() - 1);
                        print(", ");
                    } else {
                        print("<");
                    }
                    open = true;
                } else {
                    print(", ");
                }
                print(name + " = ");
                type();
            }
            if (open) {
                print(">");
            }
        }
    }

    /** {@code <type> <const-data>} or {@code p} or a back-reference; integers, bool and char only. */
    private void constant() {
        enter();
        if (eat('p')) {
            print("_");
        } else if (peek() == 'B') {
            backref(this::constant);
        } else {
            char type = next();
            boolean negative = eat('n');
            int start = pos;
            while (Character.digit(peek(), 16) >= 0 && (peek() < 'A' || peek() > 'F')) {
                pos++;
            }
            String hex = s.substring(start, pos);
            if (!eat('_') || hex.length() > 32) {
                throw Invalid.INSTANCE;
            }
            String text = RustDemangler.constant(type, negative, hex.isEmpty() ? BigInteger.ZERO : new BigInteger(hex, 16));
            if (text == null) {
                throw Invalid.INSTANCE;
            }
            print(text);
        }
        depth--;
    }
}
