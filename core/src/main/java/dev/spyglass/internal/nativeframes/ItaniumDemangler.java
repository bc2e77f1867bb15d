package dev.spyglass.internal.nativeframes;

import java.util.List;

import dev.spyglass.internal.nativeframes.ItaniumNodes.Conversion;
import dev.spyglass.internal.nativeframes.ItaniumNodes.Encoding;
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
 * cold part of a function is shown as the function). A function named inside the name (the function
 * a local class or lambda belongs to, a thunk's target) keeps its parameters, as c++filt prints it.
 *
 * <p>The grammar is the ABI's (itanium-cxx-abi.github.io/cxx-abi/abi.html#mangling); the substitution
 * candidates and the printed layout follow libiberty, which {@code SymbolNamesOracleTest} compares against.
 * Names come from files of the target process: recursion depth, output length and input length are
 * bounded, and anything not understood gives {@code null}, never an exception.
 */
final class ItaniumDemangler extends ItaniumTypeParser {
    private static final int MAX_INPUT = 16_384;

    /** The cv- and ref-qualifiers of the last nested name: a member function's {@code const}. */
    private String nestedQuals = "";

    private ItaniumDemangler(String s) {
        super(s);
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

    @Override
    Node encoding(boolean topLevel) {
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

    @Override
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

    @Override
    Node sourceName() {
        String id = identifier();
        // GCC names an anonymous namespace _GLOBAL__N_1 (older ones _GLOBAL_.N or _GLOBAL_$N).
        if (id.length() >= 10 && id.startsWith("_GLOBAL_") && ".$_".indexOf(id.charAt(8)) >= 0
                && id.charAt(9) == 'N') {
            return new Name("(anonymous namespace)");
        }
        return new Name(id);
    }

}
