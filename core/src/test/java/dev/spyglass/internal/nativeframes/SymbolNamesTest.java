package dev.spyglass.internal.nativeframes;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import org.junit.jupiter.api.Test;

/**
 * Hand-checked names of each family. The C++ and Rust expectations were checked against GNU
 * {@code c++filt --no-params} 2.40 (for Rust, c++filt's output without hash and crate disambiguators);
 * the Rust v0 names are real symbols of Rust 1.95's standard library. {@link SymbolNamesOracleTest}
 * compares thousands more with the tools themselves, and {@link SymbolNamesHostileInputTest} feeds
 * malformed names.
 */
class SymbolNamesTest {

    private static void assertReadable(Map<String, String> cases) {
        cases.forEach((symbol, expected) -> assertThat(SymbolNames.readable(symbol)).as(symbol).isEqualTo(expected));
    }

    @Test
    void plainCNamesComeBackAsTheSameString() {
        for (String name : new String[] {"PyEval_EvalFrameDefault", "_PyEval_EvalFrameDefault", "main", "_start",
            "__libc_start_main", "_Py_Dealloc", "_", "", "__pyx_module_is_main_mymodule", "_ZN", "_R"}) {
            assertThat(SymbolNames.readable(name)).as(name).isSameAs(name);
        }
    }

    @Test
    void stripsTheSymbolVersion() {
        assertReadable(Map.of(
                "clock_nanosleep@@GLIBC_2.17", "clock_nanosleep",
                "foo@GLIBC_2.2.5", "foo",
                "_ZNSt8ios_base4InitC1Ev@@GLIBCXX_3.4", "std::ios_base::Init::Init",
                "@weird", "@weird"));
        assertThat(SymbolNames.withoutVersion("select@GLIBC_2.2.5")).isEqualTo("select");
    }

    @Test
    void demanglesCppNamesWithoutParameters() {
        assertReadable(Map.ofEntries(
                Map.entry("_ZN3foo3barEv", "foo::bar"),
                Map.entry("_ZNK3Foo3getEi", "Foo::get"),
                Map.entry("_ZN5boost6detail17sp_counted_impl_pIN3FooEE7disposeEv",
                        "boost::detail::sp_counted_impl_p<Foo>::dispose"),
                Map.entry("_ZNSt6vectorIiSaIiEE9push_backERKi", "std::vector<int, std::allocator<int> >::push_back"),
                Map.entry("_ZN5Outer5InnerIiE4callIcEEvT_S3_", "Outer::Inner<int>::call<char>"),
                Map.entry("_ZSt4swapIiEvRT_S1_", "std::swap<int>"),
                Map.entry("_ZN9__gnu_cxx13new_allocatorIcE8allocateEmPKv", "__gnu_cxx::new_allocator<char>::allocate"),
                Map.entry("_ZNKSt9type_info4nameEv", "std::type_info::name"),
                Map.entry("_ZL3barv", "bar"),
                Map.entry("_Z3foo", "foo")));
    }

    @Test
    void expandsSubstitutionsAndStandardAbbreviationsAsCppFilt() {
        assertReadable(Map.of(
                "_ZNSt3mapISsiSt4lessISsESaISt4pairIKSsiEEEixERS3_",
                "std::map<std::basic_string<char, std::char_traits<char>, std::allocator<char> >, int, "
                        + "std::less<std::basic_string<char, std::char_traits<char>, std::allocator<char> > >, "
                        + "std::allocator<std::pair<std::basic_string<char, std::char_traits<char>, "
                        + "std::allocator<char> > const, int> > >::operator[]",
                "_ZNSi3getEv", "std::basic_istream<char, std::char_traits<char> >::get",
                "_ZNSo9_M_insertIdEERSoT_", "std::basic_ostream<char, std::char_traits<char> >::_M_insert<double>",
                "_ZNSaIcEC2Ev", "std::allocator<char>::allocator",
                "_ZNKSt3tr14hashISbIwSt11char_traitsIwESaIwEEEclES4_",
                "std::tr1::hash<std::basic_string<wchar_t, std::char_traits<wchar_t>, std::allocator<wchar_t> > >::operator()"));
    }

    @Test
    void namesConstructorsDestructorsAndOperators() {
        assertReadable(Map.ofEntries(
                Map.entry("_ZN3FooC1Ev", "Foo::Foo"),
                Map.entry("_ZN3FooC2ERKS_", "Foo::Foo"),
                Map.entry("_ZN1AIiEC2Ev", "A<int>::A"),
                Map.entry("_ZNSsC1EPKcRKSaIcE", "std::basic_string<char, std::char_traits<char>, std::allocator<char> >::basic_string"),
                Map.entry("_ZN3FooD0Ev", "Foo::~Foo"),
                Map.entry("_ZN3FooD1Ev", "Foo::~Foo"),
                Map.entry("_ZN3FooD2Ev", "Foo::~Foo"),
                Map.entry("_ZN8ios_base7failureB5cxx11C1EPKc", "ios_base::failure[abi:cxx11]::failure"),
                Map.entry("_ZN3FooplERKS_", "Foo::operator+"),
                Map.entry("_ZN3FooclEv", "Foo::operator()"),
                Map.entry("_ZN1AltIiEEbT_", "A::operator< <int>"),
                Map.entry("_ZN1AcvPiEv", "A::operator int*"),
                Map.entry("_ZN1AcvT_IiEEv", "A::operator int<int>"),
                Map.entry("_ZN1AcmERS_", "A::operator,"),
                Map.entry("_Znwm", "operator new"),
                Map.entry("_ZN1AdaEPv", "A::operator delete[]")));
    }

    @Test
    void namesAnonymousNamespacesLocalNamesAndLambdas() {
        assertReadable(Map.of(
                "_ZN12_GLOBAL__N_16Worker3runEv", "(anonymous namespace)::Worker::run",
                "_ZZN3Foo3runEvE7counter", "Foo::run()::counter",
                "_ZZ1fIiEvvE1x", "f<int>()::x",
                "_ZZ3foovE1x_0", "foo()::x",
                "_ZZ3foovEs", "foo()::string literal",
                "_ZZN1A3fooEvENKUlvE_clEv", "A::foo()::{lambda()#1}::operator()",
                "_ZZ1fvENKUliE0_clEi", "f()::{lambda(int)#2}::operator()",
                "_ZGVZ3foovE1x", "guard variable for foo()::x"));
    }

    @Test
    void printsTemplateArgumentsOfEveryShape() {
        assertReadable(Map.ofEntries(
                Map.entry("_Z1fIJicEEvDpT_", "f<int, char>"),
                Map.entry("_Z1fIJEEvv", "f<>"),
                Map.entry("_Z1fILb1ELi5ELj3ELin3EEvv", "f<true, 5, 3u, -3>"),
                Map.entry("_Z1fILl5ELm5ELx5ELy5ELs5EEvv", "f<5l, 5ul, 5ll, 5ull, (short)5>"),
                Map.entry("_Z1fILc97EEvv", "f<(char)97>"),
                Map.entry("_Z1fIPFviEEvv", "f<void (*)(int)>"),
                Map.entry("_Z1fIM1AKFviEEvv", "f<void (A::*)(int) const>"),
                Map.entry("_Z1fIM1AFivREEvv", "f<int (A::*)() &>"),
                Map.entry("_Z1fIA3_iEvv", "f<int [3]>"),
                Map.entry("_Z1fIRA3_iEvv", "f<int (&) [3]>"),
                Map.entry("_Z1fIKPFviEEvv", "f<void (* const)(int)>"),
                Map.entry("_Z1fIVKiEvv", "f<int const volatile>"),
                Map.entry("_Z1fIDv4_fEvv", "f<float __vector(4)>"),
                Map.entry("_Z1fIZ1gvE1XEvv", "f<g()::X>"),
                Map.entry("_Z1fILZ1gvEEvv", "f<g()>")));
    }

    @Test
    void dropsCloneSuffixesAsCppFiltNoParams() {
        assertReadable(Map.of(
                "_Z6helperv.cold", "helper",
                "_Z6helperv.constprop.0", "helper",
                "_Z6helperv.isra.0", "helper",
                "_Z6helperv.part.0", "helper",
                "_ZN1AIiE1fEv.part.0.cold", "A<int>::f",
                "_Z6helperv.llvm.4567", "helper"));
    }

    @Test
    void wordsSpecialNamesAsCppFilt() {
        assertReadable(Map.of(
                "_ZTV3Foo", "vtable for Foo",
                "_ZTI3Foo", "typeinfo for Foo",
                "_ZThn16_N3Foo3runEv", "non-virtual thunk to Foo::run()",
                "_ZTv0_n24_NSt13basic_fstreamIcSt11char_traitsIcEED1Ev",
                "virtual thunk to std::basic_fstream<char, std::char_traits<char> >::~basic_fstream()",
                "_ZTC1A0_1B", "construction vtable for B-in-A",
                "_ZGTtNSt11logic_errorC1EPKc", "transaction clone for std::logic_error::logic_error(char const*)",
                "_ZTH1x", "TLS init function for x"));
    }

    @Test
    void leavesCppNamesItCannotReadUnchanged() {
        for (String name : new String[] {"_Z", "_ZN3fooE9bar", "_ZN3foo", "_Z3fo", "_Z1fIiEDTcl1gfp_EET_x",
            "_ZN1fIXadL_Z1gvEEEEvv", "_Z3foov.", "_Z3foov.Cold", "_ZS_", "_ZN1AC1"}) {
            assertThat(SymbolNames.readable(name)).as(name).isEqualTo(name);
        }
    }

    @Test
    void demanglesLegacyRustNamesWithoutTheHash() {
        assertReadable(Map.of(
                "_ZN4core3ptr13drop_in_place17h0123456789abcdefE", "core::ptr::drop_in_place",
                "_ZN3std11collections4hash3map20HashMap$LT$K$C$V$GT$3new17h26d278139f3039ebE",
                "std::collections::hash::map::HashMap<K,V>::new",
                "_ZN102_$LT$core..iter..adapters..map..Map$LT$I$C$F$GT$$u20$as$u20$core..iter..traits..iterator"
                        + "..Iterator$GT$4fold17ha59a364403d72539E",
                "<core::iter::adapters::map::Map<I,F> as core::iter::traits::iterator::Iterator>::fold",
                "_ZN4core3fmt3num3imp52_$LT$impl$u20$core..fmt..Display$u20$for$u20$u64$GT$3fmt17h0123456789abcdefE",
                "core::fmt::num::imp::<impl core::fmt::Display for u64>::fmt",
                "_ZN4main4main17h0123456789abcdefE.llvm.1234", "main::main",
                // not Rust: no hash part (read as C++), or a hash of the wrong length (read as neither)
                "_ZN4core3ptr13drop_in_placeE", "core::ptr::drop_in_place",
                "_ZN4core3ptr17h0123456789abcdeE", "_ZN4core3ptr17h0123456789abcdeE"));
    }

    @Test
    void demanglesRustV0Names() {
        assertReadable(Map.ofEntries(
                Map.entry("_RNvNtCs1cYep3Vk4ja_4core3ptr13drop_in_place", "core::ptr::drop_in_place"),
                Map.entry("_RNvCs1234_7mycrate3foo", "mycrate::foo"),
                Map.entry("_RNvNtCsgEmfK2I1SDS_4core9panicking9panic_fmt", "core::panicking::panic_fmt"),
                Map.entry("_RINvNtCsgEmfK2I1SDS_4core3ptr13drop_in_placeINtNtCslNYArtu3iFV_5alloc3vec3VecNtNtBL_6string6"
                        + "StringEECsjrHSEGnQ3l9_3std",
                        "core::ptr::drop_in_place::<alloc::vec::Vec<alloc::string::String>>"),
                Map.entry("_RNvXs9_NtNtCsjrHSEGnQ3l9_3std2io5implsINtNtCslNYArtu3iFV_5alloc3vec3VechENtB7_5Write17is_"
                        + "write_vectoredB9_", "<alloc::vec::Vec<u8> as std::io::Write>::is_write_vectored"),
                Map.entry("_RINvMs4_NtCsgY6Mt91CT9J_14rustc_demangle2v0NtB6_7Printer9in_binderNCNvB2_10print_types_0EB8_",
                        "<rustc_demangle::v0::Printer>::in_binder::<<rustc_demangle::v0::Printer>::print_type::{closure#1}>"),
                Map.entry("_RNCNCNvNtNtCsjrHSEGnQ3l9_3std3sys9backtrace10__print_fmts_00B9_",
                        "std::sys::backtrace::_print_fmt::{closure#1}::{closure#0}"),
                Map.entry("_RINvNtCsgEmfK2I1SDS_4core6escape14escape_unicodeKja_ECsgY6Mt91CT9J_14rustc_demangle",
                        "core::escape::escape_unicode::<10>"),
                Map.entry("_RINvNtCsgEmfK2I1SDS_4core3ptr13drop_in_placeINtNtCslNYArtu3iFV_5alloc5boxed3BoxDG0_INtNtNtB4_"
                        + "3ops8function2FnTRL1_INtNtCsjrHSEGnQ3l9_3std5panic13PanicHookInfoL0_EEEp6OutputuNtNtB4_6"
                        + "marker4SyncNtB2N_4SendEL_EEB1T_",
                        "core::ptr::drop_in_place::<alloc::boxed::Box<dyn for<'a, 'b> core::ops::function::Fn<(&'a "
                                + "std::panic::PanicHookInfo<'b>,), Output = ()> + core::marker::Sync + core::marker::Send>>"),
                Map.entry("_RNvNtCs1cYep3Vk4ja_4core3ptr13drop_in_place.llvm.42", "core::ptr::drop_in_place")));
        for (String name : new String[] {"_RNvC", "_RNvCu7mycrate3foo", "_RB_", "_RNvB0_3foo", "_R0NvC1a1b"}) {
            assertThat(SymbolNames.readable(name)).as(name).isEqualTo(name);
        }
    }

    @Test
    void namesCythonFunctionsAfterTheirPythonName() {
        assertReadable(Map.ofEntries(
                Map.entry("__pyx_pw_6pandas_5_libs_7hashing_1hash_object_array", "pandas._libs.hashing.hash_object_array"),
                Map.entry("__pyx_pf_8mymodule_2spam", "mymodule.spam"),
                Map.entry("__pyx_pw_8mymodule_3Foo_1bar", "mymodule.Foo.bar"),
                Map.entry("__pyx_pw_8mymodule_3spam_2d", "mymodule.spam_2d"),
                Map.entry("__pyx_gb_8mymodule_4generator", "mymodule.generator"),
                Map.entry("__pyx_pw_8implicit_4_als_5least_squares_cg", "implicit._als.least_squares_cg"),
                Map.entry("__pyx_pf_8implicit_4_als_30_least_squares_cg", "implicit._als._least_squares_cg"),
                Map.entry("__pyx_fuse_1_0__pyx_pw_8implicit_4_als_31_least_squares_cg", "implicit._als._least_squares_cg"),
                Map.entry("__pyx_fuse_0__pyx_f_8implicit_4_als_axpy", "implicit._als.axpy"),
                Map.entry("__pyx_f_6mtrand_cont0_array", "mtrand.cont0_array"),
                Map.entry("__pyx_f_6pandas_5_libs_9hashtable_14Int64HashTable__unique",
                        "pandas._libs.hashtable.Int64HashTable._unique"),
                Map.entry("__pyx_pw_4liba_3pid_3__call__", "liba.pid.__call__"),
                Map.entry("__pyx_pw_10unipolator_21unitary_interpolation_2UI_19__reduce_cython__",
                        "unipolator.unitary_interpolation.UI.__reduce_cython__"),
                Map.entry("__pyx_pw_14structureboost_8coarsage_9predict_with_tensor_c_mc",
                        "structureboost.coarsage.predict_with_tensor_c_mc"),
                Map.entry("__pyx_pymod_exec_hashing", "hashing.<module>")));
        for (String name : new String[] {"__pyx_pw_", "__pyx_pw_7", "__pyx_pw_8mymodul", "__pyx_pw_8mymodule_",
            "__pyx_fuse_1", "__Pyx_PyObject_Call", "__pyx_pymod_exec_"}) {
            assertThat(SymbolNames.readable(name)).as(name).isEqualTo(name);
        }
    }
}
