package dev.spyglass.internal.nativeframes;

import static dev.spyglass.internal.nativeframes.ItaniumNodes.printList;

import java.util.List;

import dev.spyglass.internal.nativeframes.ItaniumNodes.Node;
import dev.spyglass.internal.nativeframes.ItaniumNodes.Out;

/**
 * The type nodes that print around a declarator, C style: cv-qualifiers, pointers and references,
 * pointers to members, arrays and function types ({@code int (&) [3]}, {@code void (A::*)(int) const}).
 */
final class ItaniumTypes {
    private ItaniumTypes() {
    }

    /** A type with {@code const}/{@code volatile}/{@code restrict}: {@code char const}. */
    static final class CvQualified extends Node {
        final Node inner;
        final String quals;

        CvQualified(Node inner, String quals) {
            this.inner = inner;
            this.quals = quals;
        }

        @Override
        void left(Out o) {
            inner.left(o);
            if (!inner.isFunction()) {
                o.append(quals);
            }
        }

        @Override
        void right(Out o) {
            if (inner instanceof Function f) {
                f.rightWith(o, quals);
            } else {
                inner.right(o);
            }
        }

        @Override
        boolean wantsParens() {
            return inner.wantsParens();
        }

        @Override
        boolean isFunction() {
            return inner.isFunction();
        }
    }

    /** Pointer ({@code *}), references ({@code &}, {@code &&}), and vendor postfixes ({@code  _Complex}). */
    static final class Declarator extends Node {
        final Node inner;
        final String symbol;

        Declarator(Node inner, String symbol) {
            this.inner = inner;
            this.symbol = symbol;
        }

        @Override
        void left(Out o) {
            o.enter();
            inner.left(o);
            if (inner.wantsParens()) {
                if (o.last() != ' ' && o.last() != '(') {
                    o.append(' ');
                }
                o.append('(');
            }
            o.append(symbol);
            o.leave();
        }

        @Override
        void right(Out o) {
            o.enter();
            if (inner.wantsParens()) {
                o.append(')');
            }
            inner.right(o);
            o.leave();
        }
    }

    /** {@code M class member}: {@code int A::*}, {@code void (A::*)(int) const}. */
    static final class MemberPointer extends Node {
        final Node owner;
        final Node member;

        MemberPointer(Node owner, Node member) {
            this.owner = owner;
            this.member = member;
        }

        @Override
        void left(Out o) {
            o.enter();
            member.left(o);
            if (member.isFunction()) {
                o.append('(');
            } else if (o.last() != ' ') {
                o.append(' ');
            }
            owner.print(o);
            o.append("::*");
            o.leave();
        }

        @Override
        void right(Out o) {
            o.enter();
            if (member.isFunction()) {
                o.append(')');
            }
            member.right(o);
            o.leave();
        }
    }

    /** {@code int [3]}; an array of arrays as {@code int [2][3]}. */
    static final class Array extends Node {
        final Node element;
        final String dimension;

        Array(Node element, String dimension) {
            this.element = element;
            this.dimension = dimension;
        }

        @Override
        void left(Out o) {
            element.left(o);
        }

        @Override
        void right(Out o) {
            o.enter();
            if (o.last() != ']') {
                o.append(' ');
            }
            o.append('[').append(dimension).append(']');
            element.right(o);
            o.leave();
        }

        @Override
        boolean wantsParens() {
            return true;
        }
    }

    /** A function type: {@code void (int)}; with member qualifiers {@code void (int) const}. */
    static final class Function extends Node {
        final Node result;
        final List<Node> params;
        final String quals;

        Function(Node result, List<Node> params, String quals) {
            this.result = result;
            this.params = params;
            this.quals = quals;
        }

        @Override
        void left(Out o) {
            o.enter();
            result.left(o);
            o.append(' ');
            o.leave();
        }

        @Override
        void right(Out o) {
            rightWith(o, "");
        }

        void rightWith(Out o, String extraQuals) {
            o.enter();
            o.append('(');
            printList(o, params);
            o.append(')').append(extraQuals).append(quals);
            result.right(o);
            o.leave();
        }

        @Override
        boolean wantsParens() {
            return true;
        }

        @Override
        boolean isFunction() {
            return true;
        }
    }
}
