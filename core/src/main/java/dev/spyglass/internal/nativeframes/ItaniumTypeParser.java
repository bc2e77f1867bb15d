package dev.spyglass.internal.nativeframes;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import dev.spyglass.internal.nativeframes.ItaniumTypes.Array;
import dev.spyglass.internal.nativeframes.ItaniumTypes.CvQualified;
import dev.spyglass.internal.nativeframes.ItaniumTypes.Declarator;
import dev.spyglass.internal.nativeframes.ItaniumTypes.Function;
import dev.spyglass.internal.nativeframes.ItaniumTypes.MemberPointer;
import dev.spyglass.internal.nativeframes.ItaniumNodes.Name;
import dev.spyglass.internal.nativeframes.ItaniumNodes.Node;
import dev.spyglass.internal.nativeframes.ItaniumNodes.Out;
import dev.spyglass.internal.nativeframes.ItaniumNodes.Pack;
import dev.spyglass.internal.nativeframes.ItaniumNodes.Prefixed;
import dev.spyglass.internal.nativeframes.ItaniumNodes.Template;

/**
 * The types of the Itanium grammar ({@code PKc}, {@code FviE}, {@code A3_i}, {@code M1AKFvvE}...),
 * template arguments and literals, with libiberty's substitution candidates: every type but a builtin
 * or a bare substitution is one, in the order it is finished.
 */
abstract class ItaniumTypeParser extends ItaniumCursor {
    static final Name VOID = new Name("void");
    static final Map<Character, Name> BUILTINS = Map.ofEntries(
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
    static final Map<Character, Name> D_BUILTINS = Map.of(
            'n', new Name("decltype(nullptr)"), 'a', new Name("auto"), 'c', new Name("decltype(auto)"),
            'i', new Name("char32_t"), 's', new Name("char16_t"), 'u', new Name("char8_t"),
            'f', new Name("decimal32"), 'd', new Name("decimal64"), 'e', new Name("decimal128"),
            'h', new Name("half"));

    ItaniumTypeParser(String s) {
        super(s);
    }

    abstract Node name();

    abstract Node sourceName();

    abstract Node encoding(boolean topLevel);

    String cvQualifiers() {
        boolean restrict = consume('r');
        boolean volatile_ = consume('V');
        boolean constant = consume('K');
        return (constant ? " const" : "") + (volatile_ ? " volatile" : "") + (restrict ? " restrict" : "");
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
}
