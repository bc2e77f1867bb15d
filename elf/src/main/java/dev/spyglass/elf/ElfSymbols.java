package dev.spyglass.elf;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The symbol look-ups of one {@link ElfFile} over its {@code .dynsym} and {@code .symtab} (either may be
 * absent): by name, all of them, and by address. The indexes that cost time ({@code .symtab} by name,
 * symbols by address) are built on first use, once, under a lock, so a caller that only asks
 * {@code .dynsym} never pays for them. Safe for use by several threads.
 */
final class ElfSymbols {
    private final SymbolTable dynsym;
    private final SymbolTable symtab;
    private final Object lock = new Object();
    private volatile Map<String, int[]> symtabByName;
    private volatile List<Symbol> allSymbols;
    private volatile AddressIndex addressIndex;

    ElfSymbols(SymbolTable dynsym, SymbolTable symtab) {
        this.dynsym = dynsym;
        this.symtab = symtab;
    }

    /**
     * Looks a symbol up by exact name (without version suffix): first in {@code .dynsym} through its GNU
     * hash table (or SysV hash table, or a scan when it has neither), then in {@code .symtab}. A defined
     * symbol is preferred over an undefined one, a global over a local one, and in {@code .dynsym} the
     * default version over hidden ones.
     *
     * @return the symbol, or empty when no table has it
     */
    Optional<Symbol> symbol(String name) {
        byte[] key = name.getBytes(StandardCharsets.UTF_8);
        int dynIndex = dynsym == null ? -1 : dynsym.lookup(key);
        if (dynIndex > 0) {
            Symbol s = dynsym.symbol(dynIndex, name);
            if (s.isDefined() || symtab == null) {
                return Optional.of(s);
            }
            Optional<Symbol> fromSymtab = symtabLookup(name);
            return fromSymtab.filter(Symbol::isDefined).or(() -> Optional.of(s));
        }
        return symtabLookup(name);
    }

    /**
     * Looks a symbol up in {@code .dynsym} only (through its hash table), never in {@code .symtab}: cheap
     * on a large unstripped object, where a {@code .symtab} miss first builds a name index of every
     * symbol (milliseconds for a libpython with debug symbols).
     *
     * @return the dynamic symbol (defined or not), or empty when {@code .dynsym} has none of that name
     */
    Optional<Symbol> dynamicSymbol(String name) {
        if (dynsym == null) {
            return Optional.empty();
        }
        int dynIndex = dynsym.lookup(name.getBytes(StandardCharsets.UTF_8));
        return dynIndex > 0 ? Optional.of(dynsym.symbol(dynIndex, name)) : Optional.empty();
    }

    private Optional<Symbol> symtabLookup(String name) {
        if (symtab == null) {
            return Optional.empty();
        }
        int[] indexes = symtabIndex().get(name);
        if (indexes == null) {
            return Optional.empty();
        }
        int best = indexes[0];
        int bestRank = -1;
        for (int i : indexes) {
            int rank = symtab.rank(i);
            if (rank > bestRank) {
                bestRank = rank;
                best = i;
            }
        }
        return Optional.of(symtab.symbol(best, name));
    }

    private Map<String, int[]> symtabIndex() {
        Map<String, int[]> m = symtabByName;
        if (m == null) {
            synchronized (lock) {
                m = symtabByName;
                if (m == null) {
                    m = symtab.buildNameIndex();
                    symtabByName = m;
                }
            }
        }
        return m;
    }

    /**
     * Every symbol of {@code .dynsym} (in table order) followed by every symbol of {@code .symtab},
     * without the null entry at index 0 of each table. Built on first call and kept.
     */
    List<Symbol> symbols() {
        List<Symbol> all = allSymbols;
        if (all == null) {
            synchronized (lock) {
                all = allSymbols;
                if (all == null) {
                    List<Symbol> list = new ArrayList<>((dynsym == null ? 0 : dynsym.count()) + (symtab == null ? 0 : symtab.count()));
                    if (dynsym != null) {
                        dynsym.addAll(list);
                    }
                    if (symtab != null) {
                        symtab.addAll(list);
                    }
                    all = Collections.unmodifiableList(list);
                    allSymbols = all;
                }
            }
        }
        return all;
    }

    /**
     * The defined function or object symbol whose range {@code [value, value + size)} contains the
     * link-time address {@code vaddr} (subtract the load bias from a run-time address first). Where
     * several do, a global one is preferred, then the one starting closest below. The sorted index is
     * built on first call.
     *
     * @return the symbol, or empty when none contains the address
     */
    Optional<Symbol> symbolAt(long vaddr) {
        AddressIndex idx = addressIndex;
        if (idx == null) {
            synchronized (lock) {
                idx = addressIndex;
                if (idx == null) {
                    idx = AddressIndex.build(symbols());
                    addressIndex = idx;
                }
            }
        }
        return Optional.ofNullable(idx.find(vaddr));
    }
}
