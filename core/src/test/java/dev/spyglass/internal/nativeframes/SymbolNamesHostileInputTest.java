package dev.spyglass.internal.nativeframes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.Random;

import org.junit.jupiter.api.Test;

/**
 * Symbol names come from files of the target process, which may be damaged or built to hurt: every
 * input must come back quickly, without an exception, and a name that is not understood unchanged.
 */
class SymbolNamesHostileInputTest {
    private static final Duration QUICK = Duration.ofSeconds(5);

    private static String repeat(String prefix, String unit, int times, String suffix) {
        return prefix + unit.repeat(times) + suffix;
    }

    @Test
    void deepNestingComesBackUnchangedAndQuickly() {
        String[] hostile = {
            repeat("_Z", "N", 10_000, ""),
            repeat("_Z", "N", 10_000, "3fooE"),
            repeat("_Z1fI", "P", 10_000, "iEvv"),
            repeat("_Z1fI", "I", 10_000, ""),
            repeat("_Z", "ZZ", 5_000, "3foovE1xE1y"),
            repeat("_Z1f", "PFv", 5_000, ""),
            repeat("_R", "N", 10_000, "vC1a1b"),
            repeat("_RIC1a", "I", 10_000, ""),
            repeat("_RNvC1a", "TT", 5_000, ""),
            repeat("_ZN", "3foo", 4_000, "17h0123456789abcdefE"),
            repeat("__pyx_pw_", "1a_", 10_000, "1f"),
        };
        for (String name : hostile) {
            String result = assertTimeoutPreemptively(QUICK, () -> SymbolNames.readable(name), name.substring(0, 12));
            if (!name.startsWith("__pyx") && !name.startsWith("_ZN3foo")) {
                assertThat(result).as(name.substring(0, 12)).isEqualTo(name);
            }
        }
    }

    @Test
    void substitutionsThatDoubleTheTextAreRefused() {
        // B<A, A>, then B<B<A, A>, B<A, A> >, ...: 40 steps of doubling would print 2^40 characters.
        // Substitutions: f is S_, A S0_, B S1_, B<A, A> S2_, and each new B<x, x> the next.
        StringBuilder cpp = new StringBuilder("_Z1fI1A1BIS0_S0_E");
        for (int i = 0; i < 40; i++) {
            String sub = "S" + Integer.toString(i + 2, 36).toUpperCase() + "_";
            cpp.append("S1_I").append(sub).append(sub).append('E');
        }
        cpp.append("Evv");
        String name = cpp.toString();
        assertThat(assertTimeoutPreemptively(QUICK, () -> SymbolNames.readable(name))).isEqualTo(name);

        // The same in Rust v0: a tuple of two back-references to the tuple before, forty times over.
        StringBuilder rust = new StringBuilder("_RINvC1a1fTllE");
        int previous = "INvC1a1f".length();
        for (int i = 0; i < 40; i++) {
            int here = rust.length() - 2;
            String ref = "B" + base62(previous) + "_";
            rust.append('T').append(ref).append(ref).append('E');
            previous = here;
        }
        rust.append('E');
        String v0 = rust.toString();
        assertThat(assertTimeoutPreemptively(QUICK, () -> SymbolNames.readable(v0))).isEqualTo(v0);
    }

    /** The v0 {@code <base-62-number>} of {@code n}, without its {@code _}: empty for 0, n - 1 in base 62 else. */
    private static String base62(int n) {
        if (n == 0) {
            return "";
        }
        String digits = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        StringBuilder sb = new StringBuilder();
        int v = n - 1;
        do {
            sb.insert(0, digits.charAt(v % 62));
            v /= 62;
        } while (v > 0);
        return sb.toString();
    }

    @Test
    void randomAndTruncatedNamesNeverThrow() {
        Random random = new Random(11);
        String alphabet = "_ZNRSEIJKLTXDCPOMAFGVUrBlhstv0123456789abcdefijmnopuxyz.$@";
        String[] prefixes = {"_Z", "_ZN", "_ZZ", "_ZT", "_R", "_RN", "_RI", "__pyx_pw_", "__pyx_f_", ""};
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            for (int i = 0; i < 100_000; i++) {
                StringBuilder sb = new StringBuilder(prefixes[random.nextInt(prefixes.length)]);
                int length = 1 + random.nextInt(120);
                for (int j = 0; j < length; j++) {
                    sb.append(i % 3 == 0 ? (char) random.nextInt(0x3000) : alphabet.charAt(random.nextInt(alphabet.length())));
                }
                String name = sb.toString();
                String result = SymbolNames.readable(name);
                assertThat(result).isNotNull();
                assertThat(result.length()).as(name).isLessThanOrEqualTo(Math.max(name.length(), 4096 + 64));
            }
        });
        String[] real = {
            "_ZNSt3mapISsiSt4lessISsESaISt4pairIKSsiEEEixERS3_",
            "_ZTv0_n24_NSt13basic_fstreamIcSt11char_traitsIcEED1Ev",
            "_ZZN1A3fooEvENKUlvE_clEv",
            "_ZN102_$LT$core..iter..adapters..map..Map$LT$I$C$F$GT$$u20$as$u20$core..iter..traits..iterator"
                    + "..Iterator$GT$4fold17ha59a364403d72539E",
            "_RNvXs9_NtNtCsjrHSEGnQ3l9_3std2io5implsINtNtCslNYArtu3iFV_5alloc3vec3VechENtB7_5Write17is_write_vectoredB9_",
            "__pyx_pw_6pandas_5_libs_7hashing_1hash_object_array",
        };
        for (String name : real) {
            for (int cut = 0; cut < name.length(); cut++) {
                String truncated = name.substring(0, cut);
                assertThat(SymbolNames.readable(truncated)).isNotNull();
            }
        }
        // Cut inside the template arguments, a name is never half printed.
        assertThat(SymbolNames.readable("_ZNSt3mapISsiSt4lessISsESaISt4pair")).isEqualTo("_ZNSt3mapISsiSt4lessISsESaISt4pair");
    }
}
