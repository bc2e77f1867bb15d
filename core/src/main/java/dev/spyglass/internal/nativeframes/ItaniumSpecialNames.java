package dev.spyglass.internal.nativeframes;

import java.util.HashMap;
import java.util.Map;

import dev.spyglass.internal.nativeframes.ItaniumNodes.Conversion;
import dev.spyglass.internal.nativeframes.ItaniumNodes.Name;
import dev.spyglass.internal.nativeframes.ItaniumNodes.Node;
import dev.spyglass.internal.nativeframes.ItaniumNodes.Out;
import dev.spyglass.internal.nativeframes.ItaniumNodes.Prefixed;

/**
 * The two fixed vocabularies of the Itanium mangling: operator names ({@code pl} is {@code operator+})
 * and special names, the compiler-made objects and functions around a user's name ({@code _ZTV} a
 * vtable, {@code _ZThn8_} a this-adjusting thunk, {@code _ZGTt} a transactional-memory clone), worded
 * as c++filt words them.
 */
final class ItaniumSpecialNames {
    private ItaniumSpecialNames() {
    }

    private static final Map<String, Name> OPERATORS = new HashMap<>();

    static {
        String[] table = {
            "nw", "new", "na", "new[]", "dl", "delete", "da", "delete[]", "ps", "+", "ng", "-", "ad", "&",
            "de", "*", "co", "~", "pl", "+", "mi", "-", "ml", "*", "dv", "/", "rm", "%", "an", "&", "or", "|",
            "eo", "^", "aS", "=", "pL", "+=", "mI", "-=", "mL", "*=", "dV", "/=", "rM", "%=", "aN", "&=",
            "oR", "|=", "eO", "^=", "ls", "<<", "rs", ">>", "lS", "<<=", "rS", ">>=", "eq", "==", "ne", "!=",
            "lt", "<", "gt", ">", "le", "<=", "ge", ">=", "ss", "<=>", "nt", "!", "aa", "&&", "oo", "||",
            "pp", "++", "mm", "--", "cm", ",", "pm", "->*", "pt", "->", "cl", "()", "ix", "[]", "qu", "?",
            "st", "sizeof ", "sz", "sizeof ", "at", "alignof ", "az", "alignof ", "aw", "co_await",
        };
        for (int i = 0; i < table.length; i += 2) {
            String name = table[i + 1];
            // c++filt separates a word from "operator" and glues a symbol to it: operator new, operator+.
            OPERATORS.put(table[i], new Name("operator" + (Character.isLetter(name.charAt(0)) ? " " : "") + name));
        }
    }

    /** An operator's name, a conversion ({@code cv <type>}) or a vendor operator ({@code v<digit><name>}). */
    static Node operatorName(ItaniumDemangler p) {
        char a = p.peek(0);
        char b = p.peek(1);
        if (a == 'c' && b == 'v') {
            p.advance(2);
            return new Conversion(p.type());
        }
        if (a == 'l' && b == 'i') {
            p.advance(2);
            return new Prefixed("operator\"\" ", p.sourceName(), "");
        }
        if (a == 'v' && b >= '0' && b <= '9') {
            p.advance(2);
            return new Prefixed("operator ", p.sourceName(), "");
        }
        Name op = OPERATORS.get("" + a + b);
        if (op == null) {
            throw ItaniumCursor.invalid();
        }
        p.advance(2);
        return op;
    }

    /** A {@code T...} or {@code G...} special name; the name inside keeps its parameters, as in c++filt. */
    static Node parse(ItaniumDemangler p) {
        char a = p.peek(0);
        char b = p.peek(1);
        p.advance(2);
        if (a == 'T') {
            switch (b) {
                case 'V':
                    return new Prefixed("vtable for ", p.type(), "");
                case 'T':
                    return new Prefixed("VTT for ", p.type(), "");
                case 'I':
                    return new Prefixed("typeinfo for ", p.type(), "");
                case 'S':
                    return new Prefixed("typeinfo name for ", p.type(), "");
                case 'h':
                    offset(p);
                    return new Prefixed("non-virtual thunk to ", p.encoding(false), "");
                case 'v':
                    offset(p);
                    offset(p);
                    return new Prefixed("virtual thunk to ", p.encoding(false), "");
                case 'c':
                    callOffset(p);
                    callOffset(p);
                    return new Prefixed("covariant return thunk to ", p.encoding(false), "");
                case 'C': {
                    Node derived = p.type();
                    p.number();
                    p.expect('_');
                    Node base = p.type();
                    return new Prefixed("construction vtable for ", new Pair(base, "-in-", derived), "");
                }
                case 'H':
                    return new Prefixed("TLS init function for ", p.name(), "");
                case 'W':
                    return new Prefixed("TLS wrapper function for ", p.name(), "");
                case 'A':
                    return new Prefixed("template parameter object for ", p.templateArg(), "");
                default:
                    throw ItaniumCursor.invalid();
            }
        }
        switch (b) {
            case 'V':
                return new Prefixed("guard variable for ", p.name(), "");
            case 'R': {
                Node name = p.name();
                int n = p.peek(0) == '_' ? 0 : seqId(p) + 1;
                p.expect('_');
                return new Prefixed("reference temporary #" + n + " for ", name, "");
            }
            case 'A':
                return new Prefixed("hidden alias for ", p.encoding(false), "");
            case 'T':
                if (p.consume('t')) {
                    return new Prefixed("transaction clone for ", p.encoding(false), "");
                }
                p.expect('n');
                return new Prefixed("non-transaction clone for ", p.encoding(false), "");
            default:
                throw ItaniumCursor.invalid();
        }
    }

    private static int seqId(ItaniumDemangler p) {
        int n = 0;
        for (int i = 0; i < 6; i++) {
            char c = p.peek(0);
            int v = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'Z' ? c - 'A' + 10 : -1;
            if (v < 0) {
                return n;
            }
            n = n * 36 + v;
            p.advance(1);
        }
        throw ItaniumCursor.invalid();
    }

    /** A {@code Tc} thunk's {@code h <offset> _} or {@code v <offset> _ <virtual offset> _}. */
    private static void callOffset(ItaniumDemangler p) {
        if (!p.consume('h')) {
            p.expect('v');
            offset(p);
        }
        offset(p);
    }

    /** {@code [n] <number> _}: an adjustment of {@code this}, not shown. */
    private static void offset(ItaniumDemangler p) {
        String digits = p.signedDigits();
        if (digits.isEmpty() || digits.equals("-")) {
            throw ItaniumCursor.invalid();
        }
        p.expect('_');
    }

    /** Two nodes around fixed text: {@code B-in-A}. */
    private static final class Pair extends Node {
        private final Node first;
        private final String middle;
        private final Node second;

        Pair(Node first, String middle, Node second) {
            this.first = first;
            this.middle = middle;
            this.second = second;
        }

        @Override
        void left(Out o) {
            first.print(o);
            o.append(middle);
            second.print(o);
        }
    }
}
