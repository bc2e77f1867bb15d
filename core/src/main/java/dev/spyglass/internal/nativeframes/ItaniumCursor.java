package dev.spyglass.internal.nativeframes;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import dev.spyglass.internal.nativeframes.ItaniumNodes.Name;
import dev.spyglass.internal.nativeframes.ItaniumNodes.Node;
import dev.spyglass.internal.nativeframes.ItaniumNodes.Out;
import dev.spyglass.internal.nativeframes.ItaniumNodes.Unprintable;

/**
 * The reading state shared by the Itanium parsers: the mangled text and position, the recursion
 * depth, the substitution candidates ({@code S_}, {@code S0_}, ...) and the template arguments a
 * {@code T_} names. Every read past the end or against the grammar throws the one preallocated
 * {@link Invalid}, which {@link ItaniumDemangler#demangle} turns into "not demangled".
 */
abstract class ItaniumCursor {
    /**
     * Nesting of names, types and template arguments. Real names nest shallowly (13 levels for the
     * deepest of libstdc++'s exports, measured); each level costs a few Java frames.
     */
    static final int MAX_DEPTH = 160;

    /** The mangled name is outside what this parser understands. */
    static final class Invalid extends RuntimeException {
        static final Invalid INSTANCE = new Invalid();

        private Invalid() {
            super("not a mangled name this parser understands", null, false, false);
        }
    }

    static final Name STD = new Name("std");
    /** The standard abbreviations, in c++filt's verbose form; the second name is what a constructor is called. */
    static final Map<Character, Name> STANDARD = Map.of(
            't', STD,
            'a', new Name("std::allocator", "allocator"),
            'b', new Name("std::basic_string", "basic_string"),
            's', new Name("std::basic_string<char, std::char_traits<char>, std::allocator<char> >", "basic_string"),
            'i', new Name("std::basic_istream<char, std::char_traits<char> >", "basic_istream"),
            'o', new Name("std::basic_ostream<char, std::char_traits<char> >", "basic_ostream"),
            'd', new Name("std::basic_iostream<char, std::char_traits<char> >", "basic_iostream"));

    final String s;
    int pos;
    int depth;
    final List<Node> subs = new ArrayList<>();
    /** The template arguments a {@code T_} refers to: the last ones of the function's own name. */
    List<Node> templateArgs;
    /** Whether template arguments parsed now are the function name's (and so bind {@code T_}). */
    boolean tagTemplates;

    ItaniumCursor(String s) {
        this.s = s;
    }

    char peek() {
        return pos < s.length() ? s.charAt(pos) : 0;
    }

    char peek(int ahead) {
        return pos + ahead < s.length() ? s.charAt(pos + ahead) : 0;
    }

    void expect(char c) {
        if (peek() != c) {
            throw Invalid.INSTANCE;
        }
        pos++;
    }

    boolean consume(char c) {
        if (peek() == c) {
            pos++;
            return true;
        }
        return false;
    }

    void enter() {
        if (++depth > MAX_DEPTH) {
            throw Invalid.INSTANCE;
        }
    }

    /** A decimal number, at most nine digits (a length or count, never more than the input holds). */
    int number() {
        int start = pos;
        int n = 0;
        while (Character.isDigit(peek()) && peek() < 128) {
            if (pos - start >= 9) {
                throw Invalid.INSTANCE;
            }
            n = n * 10 + (s.charAt(pos++) - '0');
        }
        if (pos == start) {
            throw Invalid.INSTANCE;
        }
        return n;
    }

    /** {@code [n] <digits>} as text, for literals and call offsets. */
    String signedDigits() {
        boolean negative = consume('n');
        int start = pos;
        while (peek() >= '0' && peek() <= '9') {
            pos++;
        }
        return (negative ? "-" : "") + s.substring(start, pos);
    }

    void add(Node n) {
        subs.add(n);
    }

    void advance(int n) {
        pos += n;
    }

    static RuntimeException invalid() {
        return Invalid.INSTANCE;
    }

    String identifier() {
        int length = number();
        if (length > s.length() - pos) {
            throw Invalid.INSTANCE;
        }
        String id = s.substring(pos, pos + length);
        pos += length;
        return id;
    }

    Node substitution() {
        expect('S');
        char c = peek();
        if (c == '_' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')) {
            int id = 0;
            if (c != '_') {
                long n = 0;
                while (peek() != '_') {
                    char d = peek();
                    int v = d >= '0' && d <= '9' ? d - '0' : d >= 'A' && d <= 'Z' ? d - 'A' + 10 : -1;
                    if (v < 0 || n > subs.size()) {
                        throw Invalid.INSTANCE;
                    }
                    n = n * 36 + v;
                    pos++;
                }
                id = (int) Math.min(n + 1, Integer.MAX_VALUE);
            }
            pos++;
            if (id >= subs.size()) {
                throw Invalid.INSTANCE;
            }
            return subs.get(id);
        }
        Name standard = STANDARD.get(c);
        if (standard == null) {
            throw Invalid.INSTANCE;
        }
        pos++;
        return standard;
    }

    Node templateParam() {
        expect('T');
        int index = peek() == '_' ? 0 : number() + 1;
        expect('_');
        if (templateArgs != null && index < templateArgs.size()) {
            return templateArgs.get(index);
        }
        return new ForwardParam(this, index);
    }

    /** A {@code T_} met before the arguments it names (a conversion operator's type). */
    private static final class ForwardParam extends Node {
        private final ItaniumCursor owner;
        private final int index;

        ForwardParam(ItaniumCursor owner, int index) {
            this.owner = owner;
            this.index = index;
        }

        private Node target() {
            List<Node> args = owner.templateArgs;
            if (args == null || index >= args.size() || args.get(index) == this) {
                throw Unprintable.INSTANCE;
            }
            return args.get(index);
        }

        @Override
        void left(Out o) {
            o.enter();
            target().left(o);
            o.leave();
        }

        @Override
        void right(Out o) {
            o.enter();
            target().right(o);
            o.leave();
        }
    }
}
