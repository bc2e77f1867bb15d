package dev.spyglass.internal.nativeframes;

import java.math.BigInteger;

/**
 * Rust symbol names, printed as rustc-demangle's alternate form (what py-spy shows): without the
 * hash and crate disambiguators.
 *
 * <p>Legacy mangling (the default of rustc to this day) is a C++ nested name whose last part is the
 * hash: {@code _ZN4core3ptr13drop_in_place17h0123456789abcdefE} is {@code core::ptr::drop_in_place}; the
 * characters C++ names cannot hold are escaped ({@code $LT$} {@code <}, {@code $u20$} a space, {@code ..}
 * {@code ::}). The v0 mangling ({@code _R}, RFC 2603, {@code -C symbol-mangling-version=v0}) is a
 * grammar of its own, read by {@link RustV0}. A name that does not read completely gives null.
 */
final class RustDemangler {
    private RustDemangler() {
    }

    /** A legacy Rust name, or null when {@code symbol} is not one (a C++ name, most likely). */
    static String legacy(String symbol) {
        if (!symbol.startsWith("_ZN")) {
            return null;
        }
        // First pass: where the parts end, and that the last is the hash ("h" and 16 hex digits).
        int pos = 3;
        int lastPart = -1;
        while (pos < symbol.length() && symbol.charAt(pos) != 'E') {
            int length = 0;
            int digits = pos;
            while (digits < symbol.length() && Character.isDigit(symbol.charAt(digits)) && digits - pos < 5) {
                length = length * 10 + symbol.charAt(digits) - '0';
                digits++;
            }
            if (length == 0 || digits + length > symbol.length()) {
                return null;
            }
            lastPart = pos;
            pos = digits + length;
        }
        int hash = lastPart;
        if (pos >= symbol.length() || hash <= 3 || pos - hash != 19 || !symbol.startsWith("17h", hash)
                || !isHex(symbol, hash + 3, pos)) {
            return null;
        }
        if (pos + 1 < symbol.length() && symbol.charAt(pos + 1) != '.') { // .llvm.123 may follow E
            return null;
        }
        StringBuilder sb = new StringBuilder(pos);
        pos = 3;
        while (pos < hash) {
            int length = 0;
            int digits = pos;
            while (Character.isDigit(symbol.charAt(digits))) {
                length = length * 10 + symbol.charAt(digits) - '0';
                digits++;
            }
            if (!sb.isEmpty()) {
                sb.append("::");
            }
            if (!unescape(symbol, digits, digits + length, sb)) {
                return null;
            }
            pos = digits + length;
        }
        return sb.toString();
    }

    /** A v0 Rust name ({@code _R...}), or null. */
    static String v0(String symbol) {
        return RustV0.demangle(symbol);
    }

    /** A v0 basic type's letter ({@code l}) as Rust writes the type ({@code i32}); null if none. */
    static String basicType(char c) {
        return switch (c) {
            case 'a' -> "i8";
            case 'b' -> "bool";
            case 'c' -> "char";
            case 'd' -> "f64";
            case 'e' -> "str";
            case 'f' -> "f32";
            case 'h' -> "u8";
            case 'i' -> "isize";
            case 'j' -> "usize";
            case 'l' -> "i32";
            case 'm' -> "u32";
            case 'n' -> "i128";
            case 'o' -> "u128";
            case 's' -> "i16";
            case 't' -> "u16";
            case 'u' -> "()";
            case 'v' -> "...";
            case 'x' -> "i64";
            case 'y' -> "u64";
            case 'z' -> "!";
            case 'p' -> "_";
            default -> null;
        };
    }

    /** A v0 constant of integer, {@code bool} or {@code char} type as Rust writes it; null for others. */
    static String constant(char type, boolean negative, BigInteger value) {
        return switch (type) {
            case 'a', 's', 'l', 'x', 'n', 'i', 'h', 't', 'm', 'y', 'o', 'j' -> (negative ? "-" : "") + value;
            case 'b' -> value.signum() == 0 ? "false" : value.equals(BigInteger.ONE) ? "true" : null;
            case 'c' -> {
                int cp = value.bitLength() > 21 ? -1 : value.intValue();
                yield Character.isValidCodePoint(cp) && !Character.isISOControl(cp) ? "'" + Character.toString(cp) + "'" : null;
            }
            default -> null;
        };
    }

    private static boolean isHex(String s, int from, int to) {
        for (int i = from; i < to; i++) {
            if (Character.digit(s.charAt(i), 16) < 0) {
                return false;
            }
        }
        return true;
    }

    /** One legacy path part, its {@code $..$} escapes and {@code ..} decoded into {@code sb}. */
    private static boolean unescape(String s, int from, int to, StringBuilder sb) {
        int i = from;
        if (to - from > 1 && s.charAt(i) == '_' && s.charAt(i + 1) == '$') {
            i++; // rustc adds "_" before a part starting with "$", which a C++ identifier cannot
        }
        while (i < to) {
            char c = s.charAt(i);
            if (c == '.') {
                if (i + 1 < to && s.charAt(i + 1) == '.') {
                    sb.append("::");
                    i += 2;
                } else {
                    sb.append('.');
                    i++;
                }
            } else if (c == '$') {
                int close = s.indexOf('$', i + 1);
                if (close < 0 || close >= to) {
                    return false;
                }
                String escape = s.substring(i + 1, close);
                String decoded = switch (escape) {
                    case "SP" -> "@";
                    case "BP" -> "*";
                    case "RF" -> "&";
                    case "LT" -> "<";
                    case "GT" -> ">";
                    case "LP" -> "(";
                    case "RP" -> ")";
                    case "C" -> ",";
                    default -> unicodeEscape(escape);
                };
                if (decoded == null) {
                    return false;
                }
                sb.append(decoded);
                i = close + 1;
            } else {
                sb.append(c);
                i++;
            }
        }
        return true;
    }

    /** {@code u20} as a space: a code point in hex; null for anything else or a control character. */
    private static String unicodeEscape(String escape) {
        if (escape.length() < 2 || escape.length() > 7 || escape.charAt(0) != 'u'
                || !isHex(escape, 1, escape.length())) {
            return null;
        }
        int cp = Integer.parseInt(escape, 1, escape.length(), 16);
        if (!Character.isValidCodePoint(cp) || Character.isISOControl(cp)) {
            return null;
        }
        return Character.toString(cp);
    }
}
