package dev.spyglass.internal.nativeframes;

import java.util.List;

/**
 * The pieces of a demangled C++ name and how each prints, in the layout of GNU {@code c++filt}
 * (libiberty: {@code char const*}, {@code void (*)(int)}, {@code int (&) [3]}, {@code A<B<int> >}).
 *
 * <p>A type prints in two halves around whatever declarator encloses it, as a C declaration does: a
 * pointer to a function prints the function's left half ({@code void }), its own {@code (*}, then
 * {@code )} and the function's right half ({@code (int)}). Nodes are shared through substitutions, so a
 * short name can expand to a long text: {@link Out} bounds both the length and the depth of printing.
 */
final class ItaniumNodes {
    private ItaniumNodes() {
    }

    /** Printing gave up: the text would be too long or too deep to be a name a person reads. */
    static final class Unprintable extends RuntimeException {
        static final Unprintable INSTANCE = new Unprintable();

        private Unprintable() {
            super("demangled text too long or unnamed", null, false, false);
        }
    }

    /** The output, bounded: a few nested substitutions can otherwise double the text each time. */
    static final class Out {
        static final int MAX_CHARS = 4096;
        static final int MAX_DEPTH = 256;
        static final int MAX_STEPS = 100_000;
        final StringBuilder sb = new StringBuilder(64);
        private int depth;
        private int steps;

        Out append(String s) {
            if (sb.length() + s.length() > MAX_CHARS) {
                throw Unprintable.INSTANCE;
            }
            sb.append(s);
            return this;
        }

        Out append(char c) {
            if (sb.length() >= MAX_CHARS) {
                throw Unprintable.INSTANCE;
            }
            sb.append(c);
            return this;
        }

        char last() {
            return sb.isEmpty() ? 0 : sb.charAt(sb.length() - 1);
        }

        void enter() {
            // Steps too: a node that prints little, reached through many shared substitutions, is work all the same.
            if (++depth > MAX_DEPTH || ++steps > MAX_STEPS) {
                throw Unprintable.INSTANCE;
            }
        }

        void leave() {
            depth--;
        }
    }

    abstract static class Node {
        abstract void left(Out o);

        void right(Out o) {
        }

        final void print(Out o) {
            o.enter();
            left(o);
            right(o);
            o.leave();
        }

        /** The name a constructor or destructor of this class takes: {@code basic_string} for {@code Ss}. */
        String baseName() {
            return null;
        }

        /** Whether a pointer or reference to this must be parenthesised: {@code void (*)(int)}, {@code int (*) [3]}. */
        boolean wantsParens() {
            return false;
        }

        /** A function (possibly cv-qualified, as a member function's type in a pointer to member). */
        boolean isFunction() {
            return false;
        }
    }

    static final class Name extends Node {
        final String text;
        final String base;

        Name(String text) {
            this(text, text);
        }

        Name(String text, String base) {
            this.text = text;
            this.base = base;
        }

        @Override
        void left(Out o) {
            o.append(text);
        }

        @Override
        String baseName() {
            return base;
        }
    }

    /** {@code scope::name}. */
    static final class Qualified extends Node {
        final Node scope;
        final Node name;
        /** A name local to a function ({@code Z...E}): its return type is decided by {@link #name}. */
        final boolean local;

        Qualified(Node scope, Node name) {
            this(scope, name, false);
        }

        Qualified(Node scope, Node name, boolean local) {
            this.scope = scope;
            this.name = name;
            this.local = local;
        }

        @Override
        void left(Out o) {
            scope.print(o);
            o.append("::");
            name.print(o);
        }

        @Override
        String baseName() {
            return name.baseName();
        }
    }

    /** {@code name<args>}; libiberty spaces {@code > >} and {@code operator< <int>}. */
    static final class Template extends Node {
        final Node name;
        final List<Node> args;

        Template(Node name, List<Node> args) {
            this.name = name;
            this.args = args;
        }

        @Override
        void left(Out o) {
            name.print(o);
            if (o.last() == '<') {
                o.append(' ');
            }
            o.append('<');
            printList(o, args);
            if (o.last() == '>') {
                o.append(' ');
            }
            o.append('>');
        }

        @Override
        String baseName() {
            return name.baseName();
        }
    }

    /** The arguments of a pack ({@code J...E}), printed inline. */
    static final class Pack extends Node {
        final List<Node> items;

        Pack(List<Node> items) {
            this.items = items;
        }

        @Override
        void left(Out o) {
            printList(o, items);
        }
    }

    static void printList(Out o, List<Node> items) {
        boolean first = true;
        for (Node n : items) {
            int before = o.sb.length();
            if (!first) {
                o.append(", ");
            }
            int mark = o.sb.length();
            n.print(o);
            if (o.sb.length() == mark && n instanceof Pack) {
                o.sb.setLength(before); // an empty pack adds no comma
                continue;
            }
            first = false;
        }
    }

    /** A constructor or destructor, named after the class it belongs to. */
    static final class Structor extends Node {
        final Node owner;
        final boolean destructor;

        Structor(Node owner, boolean destructor) {
            this.owner = owner;
            this.destructor = destructor;
        }

        @Override
        void left(Out o) {
            String base = owner.baseName();
            if (base == null) {
                throw Unprintable.INSTANCE; // cannot name it; treated as a failure by the caller
            }
            if (destructor) {
                o.append('~');
            }
            o.append(base);
        }
    }

    /** A function's own name with its parameters, inside a local name or a thunk: {@code f<int>(char) const}. */
    static final class Encoding extends Node {
        final Node name;
        final List<Node> params;
        final String quals;

        Encoding(Node name, List<Node> params, String quals) {
            this.name = name;
            this.params = params;
            this.quals = quals;
        }

        @Override
        void left(Out o) {
            name.print(o);
            if (params != null) {
                o.append('(');
                printList(o, params);
                o.append(')').append(quals);
            }
        }
    }

    /** A type or name after fixed text: {@code vtable for A}, {@code operator int*}. */
    static class Prefixed extends Node {
        final String prefix;
        final Node inner;
        final String suffix;

        Prefixed(String prefix, Node inner, String suffix) {
            this.prefix = prefix;
            this.inner = inner;
            this.suffix = suffix;
        }

        @Override
        void left(Out o) {
            o.append(prefix);
            inner.print(o);
            o.append(suffix);
        }

        @Override
        String baseName() {
            return inner.baseName();
        }
    }

    /** {@code operator int*}: a function with no return type, like a constructor. */
    static final class Conversion extends Prefixed {
        Conversion(Node type) {
            super("operator ", type, "");
        }

        @Override
        String baseName() {
            return null;
        }
    }
}
