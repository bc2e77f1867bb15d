package dev.spyglass.internal.nativeframes;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import dev.spyglass.internal.nativeframes.ItaniumNodes.Array;
import dev.spyglass.internal.nativeframes.ItaniumNodes.Conversion;
import dev.spyglass.internal.nativeframes.ItaniumNodes.CvQualified;
import dev.spyglass.internal.nativeframes.ItaniumNodes.Declarator;
import dev.spyglass.internal.nativeframes.ItaniumNodes.Encoding;
import dev.spyglass.internal.nativeframes.ItaniumNodes.Function;
import dev.spyglass.internal.nativeframes.ItaniumNodes.MemberPointer;
import dev.spyglass.internal.nativeframes.ItaniumNodes.Name;
import dev.spyglass.internal.nativeframes.ItaniumNodes.Node;
import dev.spyglass.internal.nativeframes.ItaniumNodes.Out;
import dev.spyglass.internal.nativeframes.ItaniumNodes.Pack;
import dev.spyglass.internal.nativeframes.ItaniumNodes.Prefixed;
import dev.spyglass.internal.nativeframes.ItaniumNodes.Qualified;
import dev.spyglass.internal.nativeframes.ItaniumNodes.Structor;
import dev.spyglass.internal.nativeframes.ItaniumNodes.Template;
import dev.spyglass.internal.nativeframes.ItaniumNodes.Unprintable;

/**
 * C++ names of the Itanium ABI ({@code _Z...}, what GCC and Clang emit on Linux) as GNU
 * {@code c++filt --no-params} prints them: the function's qualified name and template arguments, no
 * parameters, return type, {@code const} or clone suffix ({@code .cold}, {@code .constprop.0}: the
 * cold part of a function is shown as the function). Names inside the name (a local class's function,
 * a thunk's target) keep their parameters, as there.
 *
 * <p>The grammar is the ABI's (itanium-cxx-abi.github.io/cxx-abi/abi.html#mangling); the substitution
 * candidates and the printed layout follow libiberty, which {@code SymbolNamesTest} compares against.
 * Names come from files of the target process: recursion depth, output length and input length are
 * bounded, and anything not understood gives {@code null}, never an exception.
 */
final class ItaniumDemangler {
    private static final int MAX_DEPTH = 160;
    private static final int MAX_INPUT = 16_384;

    /** The mangled name is outside what this parser understands. */
    private static final class Invalid extends RuntimeException {
        static final Invalid INSTANCE = new Invalid();

        private Invalid() {
            super("not a mangled name this parser understands", null, false, false);
        }
    }

    private static final Name VOID = new Name("void");
    private static final Name STD = new Name("std");
    private static final Map<Character, Name> BUILTINS = Map.ofEntries(
            Map.entry('v', VOID), Map.entry('w', new Name("wchar_t")), Map.entry('b', new Name("bool")),
            Map.entry('c', new Name("char")), Map.entry('a', new Name("signed char")),
            Map.entry('h', new Name("unsigned char")), Map.entry('s', new Name("short")),
            Map.entry('t', new Name("unsigned short")), Map.entry('i', new Name("int")),
            Map.entry('j', new Name("unsigned int")), Map.entry('l', new Name("long")),
            Map.entry('m', new Name("unsigned long")), Map.entry('x', new Name("long long")),
            Map.entry('y', new Name("unsigned long long")), Map.entry('n', new Name("__int128")),
            Map.entry('o', new Name("unsigned __int128")), Map.entry('f', new Name("float")),
            Map.entry('d', new Name("double")), Map.entry('e', new Name("long double")),
            Map.entry('g', new Name("__float128")), Map.entry('z', new Name("...")));
    /** {@code D?} builtins; {@code Dn} and the others are types without substitution, like the letters above. */
    private static final Map<Character, Name> D_BUILTINS = Map.of(
            'n', new Name("decltype(nullptr)"), 'a', new Name("auto"), 'c', new Name("decltype(auto)"),
            'i', new Name("char32_t"), 's', new Name("char16_t"), 'u', new Name("char8_t"),
            'f', new Name("decimal32"), 'd', new Name("decimal64"), 'e', new Name("decimal128"),
            'h', new Name("half"));
    /** The standard abbreviations, in c++filt's verbose form; the second name is what a constructor is called. */
    private static final Map<Character, Name> STANDARD = Map.of(
            't', STD,
            'a', new Name("std::allocator", "allocator"),
            'b', new Name("std::basic_string", "basic_string"),
            's', new Name("std::basic_string<char, std::char_traits<char>, std::allocator<char> >", "basic_string"),
            'i', new Name("std::basic_istream<char, std::char_traits<char> >", "basic_istream"),
            'o', new Name("std::basic_ostream<char, std::char_traits<char> >", "basic_ostream"),
            'd', new Name("std::basic_iostream<char, std::char_traits<char> >", "basic_iostream"));

    private final String s;
    private int pos;
    private int depth;
    private final List<Node> subs = new ArrayList<>();
    /** The template arguments a {@code T_} refers to: the last ones of the function's own name. */
    private List<Node> templateArgs;
    /** Whether template arguments parsed now are the function name's (and so bind {@code T_}). */
    private boolean tagTemplates;
    /** The cv- and ref-qualifiers of the last nested name: a member function's {@code const}. */
    private String nestedQuals = "";

    private ItaniumDemangler(String s) {
        this.s = s;
    }

    /** {@code symbol} demangled without parameters, or null when it is not a name this understands. */
    static String demangle(String symbol) {
        if (!symbol.startsWith("_Z") || symbol.length() > MAX_INPUT) {
            return null;
        }
        try {
            ItaniumDemangler p = new ItaniumDemangler(symbol);
            p.pos = 2;
            Node n = p.encoding(true);
            p.cloneSuffixes();
            Out o = new Out();
            n.print(o);
            return o.sb.toString();
        } catch (Invalid | Unprintable e) {
            return null;
        }
    }

    // ---- reading ----

    private char peek() {
        return pos < s.length() ? s.charAt(pos) : 0;
    }

    private char peek(int ahead) {
        return pos + ahead < s.length() ? s.charAt(pos + ahead) : 0;
    }

    private void expect(char c) {
        if (peek() != c) {
            throw Invalid.INSTANCE;
        }
        pos++;
    }

    private boolean consume(char c) {
        if (peek() == c) {
            pos++;
            return true;
        }
        return false;
    }

    private void enter() {
        if (++depth > MAX_DEPTH) {
            throw Invalid.INSTANCE;
        }
    }

    /** A decimal number, at most nine digits (a length or count, never more than the input holds). */
    private int number() {
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
    private String signedDigits() {
        boolean negative = consume('n');
        int start = pos;
        while (peek() >= '0' && peek() <= '9') {
            pos++;
        }
        return (negative ? "-" : "") + s.substring(start, pos);
    }

    private void add(Node n) {
        subs.add(n);
    }

    // ---- encodings and names ----

    private Node encoding(boolean topLevel) {
        enter();
        char c = peek();
        Node result;
        if (c == 'T' || (c == 'G' && (peek(1) == 'V' || peek(1) == 'R' || peek(1) == 'A' || peek(1) == 'T'))) {
            result = ItaniumSpecialNames.parse(this);
        } else {
            boolean outerTag = tagTemplates;
            tagTemplates = true;
            nestedQuals = "";
            Node name = name();
            tagTemplates = false;
            String quals = nestedQuals;
            nestedQuals = "";
            c = peek();
            if (c == 0 || c == 'E' || c == '.') {
                result = topLevel ? name : new Encoding(name, null, "");
            } else {
                if (hasReturnType(name)) {
                    type();
                }
                List<Node> params = paramList();
                result = topLevel ? name : new Encoding(name, params, quals);
            }
            tagTemplates = outerTag;
        }
        depth--;
        return result;
    }

    /** {@code .cold}, {@code .constprop.0}, {@code .isra.0.part.1}, {@code .llvm.123}: read and dropped. */
    private void cloneSuffixes() {
        while (peek() == '.') {
            char c = peek(1);
            if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
                throw Invalid.INSTANCE;
            }
            pos += 2;
            while (peek() == '_' || (peek() >= 'a' && peek() <= 'z') || (peek() >= '0' && peek() <= '9')) {
                pos++;
            }
        }
        if (pos != s.length()) {
            throw Invalid.INSTANCE;
        }
    }

    private static boolean hasReturnType(Node n) {
        if (n instanceof Template t) {
            return !isStructorOrConversion(t.name);
        }
        return n instanceof Qualified q && q.local && hasReturnType(q.name);
    }

    private static boolean isStructorOrConversion(Node n) {
        if (n instanceof Qualified q) {
            return isStructorOrConversion(q.name);
        }
        return n instanceof Structor || n instanceof Conversion;
    }

    Node name() {
        enter();
        Node n;
        char c = peek();
        if (c == 'N') {
            n = nestedName();
        } else if (c == 'Z') {
            n = localName();
        } else if (c == 'S' && peek(1) != 't') {
            n = substitution();
            if (peek() == 'I') {
                n = new Template(n, templateArgs());
            }
        } else {
            if (c == 'S') {
                pos += 2;
                n = new Qualified(STD, unqualifiedName(null));
            } else {
                n = unqualifiedName(null);
            }
            if (peek() == 'I') {
                add(n);
                n = new Template(n, templateArgs());
            }
        }
        depth--;
        return n;
    }

    private Node nestedName() {
        expect('N');
        String quals = cvQualifiers();
        if (consume('R')) {
            quals += " &";
        } else if (consume('O')) {
            quals += " &&";
        }
        Node ret = null;
        while (true) {
            char c = peek();
            if (c == 'E') {
                pos++;
                break;
            }
            if (c == 'I') {
                if (ret == null) {
                    throw Invalid.INSTANCE;
                }
                ret = new Template(ret, templateArgs());
            } else if (c == 'M' && ret != null) {
                pos++; // the initializer scope of a lambda: not printed
                continue;
            } else {
                Node component = switch (c) {
                    case 'T' -> templateParam();
                    case 'S' -> substitution();
                    default -> unqualifiedName(ret);
                };
                ret = ret == null ? component : new Qualified(ret, component);
            }
            if (c != 'S' && peek() != 'E') {
                add(ret);
            }
        }
        if (ret == null) {
            throw Invalid.INSTANCE;
        }
        nestedQuals = quals;
        return ret;
    }

    private Node localName() {
        expect('Z');
        Node function = encoding(false);
        expect('E');
        nestedQuals = "";
        if (consume('s')) {
            discriminator();
            return new Qualified(function, new Name("string literal"), true);
        }
        if (consume('d')) {
            if (peek() != '_') {
                number();
            }
            expect('_');
        }
        Node entity = name();
        discriminator();
        return new Qualified(function, entity, true);
    }

    private void discriminator() {
        if (peek() != '_') {
            return;
        }
        pos++;
        if (consume('_')) {
            number();
            expect('_');
        } else {
            number();
        }
    }

    private Node unqualifiedName(Node scope) {
        char c = peek();
        Node n;
        if (c >= '0' && c <= '9') {
            n = sourceName();
        } else if (c >= 'a' && c <= 'z') {
            n = ItaniumSpecialNames.operatorName(this);
        } else if (c == 'C' || (c == 'D' && peek(1) >= '0' && peek(1) <= '5')) {
            if (scope == null) {
                throw Invalid.INSTANCE;
            }
            pos++;
            if (c == 'C' && consume('I')) { // an inheriting constructor names its base class
                pos++;
                type();
            } else {
                pos++;
            }
            n = new Structor(scope, c == 'D');
        } else if (c == 'U' && peek(1) == 't') {
            pos += 2;
            n = new Name("{unnamed type#" + sequence() + "}");
        } else if (c == 'U' && peek(1) == 'l') {
            pos += 2;
            List<Node> params = paramList();
            expect('E');
            n = new Prefixed("{lambda(", new Pack(params), ")#" + sequence() + "}");
        } else if (c == 'L') {
            pos++;
            n = sourceName();
            discriminator();
        } else {
            throw Invalid.INSTANCE;
        }
        while (peek() == 'B') {
            pos++;
            String tag = identifier();
            n = new Prefixed("", n, "[abi:" + tag + "]");
        }
        return n;
    }

    /** {@code [<number>] _}: 1 for a bare {@code _}, n + 2 for {@code n_}. */
    private int sequence() {
        int n = peek() == '_' ? 1 : number() + 2;
        expect('_');
        return n;
    }

    private String identifier() {
        int length = number();
        if (length > s.length() - pos) {
            throw Invalid.INSTANCE;
        }
        String id = s.substring(pos, pos + length);
        pos += length;
        return id;
    }

    Node sourceName() {
        String id = identifier();
        // GCC names an anonymous namespace _GLOBAL__N_1 (older ones _GLOBAL_.N or _GLOBAL_$N).
        if (id.length() >= 10 && id.startsWith("_GLOBAL_") && ".$_".indexOf(id.charAt(8)) >= 0
                && id.charAt(9) == 'N') {
            return new Name("(anonymous namespace)");
        }
        return new Name(id);
    }

    String cvQualifiers() {
        boolean restrict = consume('r');
        boolean volatile_ = consume('V');
        boolean constant = consume('K');
        return (constant ? " const" : "") + (volatile_ ? " volatile" : "") + (restrict ? " restrict" : "");
    }

    private Node substitution() {
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

    private Node templateParam() {
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
        private final ItaniumDemangler owner;
        private final int index;

        ForwardParam(ItaniumDemangler owner, int index) {
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

    List<Node> templateArgs() {
        expect('I');
        boolean tag = tagTemplates;
        tagTemplates = false;
        List<Node> args = new ArrayList<>();
        while (!consume('E')) {
            if (peek() == 0) {
                throw Invalid.INSTANCE;
            }
            args.add(templateArg());
        }
        tagTemplates = tag;
        if (tag) {
            templateArgs = args;
        }
        return args;
    }

    Node templateArg() {
        enter();
        Node n;
        if (peek() == 'L') {
            n = literal();
        } else if (consume('J')) {
            List<Node> items = new ArrayList<>();
            while (!consume('E')) {
                if (peek() == 0) {
                    throw Invalid.INSTANCE;
                }
                items.add(templateArg());
            }
            n = new Pack(items);
        } else {
            n = type(); // an expression (X...E) is not read: such a name stays as it is
        }
        depth--;
        return n;
    }

    private Node literal() {
        expect('L');
        if (peek() == 'Z' || (peek() == '_' && peek(1) == 'Z')) {
            pos += peek() == '_' ? 2 : 1;
            Node entity = encoding(false);
            expect('E');
            return entity;
        }
        Node type = type();
        String value = signedDigits();
        expect('E');
        String t = type instanceof Name n ? n.text : "";
        return new Name(switch (t) {
            case "bool" -> value.equals("0") ? "false" : value.equals("1") ? "true" : "(bool)" + value;
            case "int" -> value;
            case "unsigned int" -> value + "u";
            case "long" -> value + "l";
            case "unsigned long" -> value + "ul";
            case "long long" -> value + "ll";
            case "unsigned long long" -> value + "ull";
            case "decltype(nullptr)" -> value.isEmpty() ? t : "(" + t + ")" + value;
            default -> {
                Out o = new Out();
                type.print(o);
                yield "(" + o.sb + ")" + value;
            }
        });
    }

    /** Parameter types up to {@code E}, a clone suffix or the end; a lone {@code void} is no parameter. */
    List<Node> paramList() {
        List<Node> params = new ArrayList<>();
        while (true) {
            char c = peek();
            if (c == 0 || c == 'E' || c == '.' || ((c == 'R' || c == 'O') && peek(1) == 'E')) {
                break;
            }
            params.add(type());
        }
        if (params.size() == 1 && params.get(0) == VOID) {
            params.clear();
        }
        return params;
    }

    Node type() {
        enter();
        Node n = typeWithoutDepth();
        depth--;
        return n;
    }

    private Node typeWithoutDepth() {
        char c = peek();
        Name builtin = BUILTINS.get(c);
        if (builtin != null) {
            pos++;
            return builtin;
        }
        Node n;
        switch (c) {
            case 'r', 'V', 'K' -> {
                String quals = cvQualifiers();
                n = new CvQualified(type(), quals);
            }
            case 'P' -> n = declarator("*");
            case 'R' -> n = declarator("&");
            case 'O' -> n = declarator("&&");
            case 'C' -> n = declarator(" _Complex");
            case 'G' -> n = declarator(" _Imaginary");
            case 'F' -> n = functionType("");
            case 'A' -> n = arrayType();
            case 'M' -> {
                pos++;
                Node owner = type();
                n = new MemberPointer(owner, type());
            }
            case 'T' -> {
                n = templateParam();
                if (peek() == 'I') {
                    add(n);
                    n = new Template(n, templateArgs());
                }
            }
            case 'S' -> {
                char next = peek(1);
                if (next == '_' || (next >= '0' && next <= '9') || (next >= 'A' && next <= 'Z')) {
                    n = substitution();
                    if (peek() != 'I') {
                        return n;
                    }
                    n = new Template(n, templateArgs());
                } else {
                    n = name();
                    if (n instanceof Name std && STANDARD.containsValue(std)) {
                        return n;
                    }
                }
            }
            case 'D' -> {
                Name dBuiltin = D_BUILTINS.get(peek(1));
                if (dBuiltin != null) {
                    pos += 2;
                    return dBuiltin;
                }
                if (peek(1) == 'F') { // _Float16 and the like: builtins, never substitution candidates
                    pos += 2;
                    int bits = number();
                    expect('_');
                    return new Name("_Float" + bits);
                }
                n = dType();
            }
            case 'u' -> {
                pos++;
                n = sourceName();
                if (peek() == 'I') {
                    n = new Template(n, templateArgs());
                }
            }
            default -> {
                if (!((c >= '0' && c <= '9') || c == 'N' || c == 'Z')) {
                    throw Invalid.INSTANCE;
                }
                n = name();
            }
        }
        add(n);
        return n;
    }

    /** A {@code D} type other than a builtin. */
    private Node dType() {
        pos++;
        char c = peek();
        pos++;
        switch (c) {
            case 'p' -> {
                return new Prefixed("", type(), "...");
            }
            case 'v' -> {
                int lanes = number();
                expect('_');
                return new Prefixed("", type(), " __vector(" + lanes + ")");
            }
            case 'o' -> {
                if (peek() != 'F') {
                    throw Invalid.INSTANCE;
                }
                return functionType(" noexcept");
            }
            default -> throw Invalid.INSTANCE; // decltype, exception specifications, transaction-safe
        }
    }

    private Node declarator(String symbol) {
        pos++;
        return new Declarator(type(), symbol);
    }

    private Node functionType(String suffix) {
        expect('F');
        consume('Y');
        Node result = type();
        List<Node> params = paramList();
        String ref = "";
        if (peek() == 'R' && peek(1) == 'E') {
            pos++;
            ref = " &";
        } else if (peek() == 'O' && peek(1) == 'E') {
            pos++;
            ref = " &&";
        }
        expect('E');
        return new Function(result, params, ref + suffix);
    }

    private Node arrayType() {
        expect('A');
        String dimension = "";
        if (peek() != '_') {
            dimension = Integer.toString(number());
        }
        expect('_');
        return new Array(type(), dimension);
    }

    // ---- for ItaniumSpecialNames ----

    boolean consumeChar(char c) {
        return consume(c);
    }

    char peekChar(int ahead) {
        return peek(ahead);
    }

    void advance(int n) {
        pos += n;
    }

    void expectChar(char c) {
        expect(c);
    }

    int readNumber() {
        return number();
    }

    String readSignedDigits() {
        return signedDigits();
    }

    Node encodingInside() {
        return encoding(false);
    }

    static RuntimeException invalid() {
        return Invalid.INSTANCE;
    }
}
