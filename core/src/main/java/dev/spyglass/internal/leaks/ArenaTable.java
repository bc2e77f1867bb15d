package dev.spyglass.internal.leaks;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import dev.spyglass.SpyglassException;
import dev.spyglass.internal.os.MemoryFault;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * pymalloc's arena table ({@code PyObjectArenaAllocator}: {@code ctx, alloc, free}) found without symbols, through
 * the machine code (x86-64) of the exported {@code PyObject_GetArenaAllocator}, which copies the table into its
 * argument. The table is a static of obmalloc.c up to 3.11 ({@code _PyObject_Arena}) and
 * {@code _PyRuntime.allocators.obj_arena} from 3.12 on; its {@code alloc} and {@code free} are the arena
 * functions ({@code _PyObject_ArenaMmap}/{@code _PyObject_ArenaMunmap} up to 3.11, {@code _PyMem_ArenaAlloc}/
 * {@code _PyMem_ArenaFree} from 3.12), static and stripped on Debian's builds, but always called through this table.
 *
 * <p>The copy GCC emits reads 24 bytes at the table, in one of these shapes (an {@code endbr64} may come first):
 * <ul>
 * <li>3.6 - 3.11: {@code movdqa/movaps disp(%rip),%xmm0} (ctx and alloc) and {@code mov disp+16(%rip),%rax}
 * (free): pyenv's shared builds and Debian's static 3.11;</li>
 * <li>3.12+ (pyenv's shared builds): the runtime's lock taken first, then {@code mov GOT(%rip),%reg} (the address of
 * {@code _PyRuntime}) and {@code movdqu off(%reg),%xmm0}, {@code mov off+16(%reg),%rax};</li>
 * <li>plain 8-byte {@code mov} loads of {@code +8} and {@code +16} (either base).</li>
 * </ul>
 * The two loads of the slots {@code alloc} / {@code free} (or of {@code ctx, alloc} and {@code free}) must agree on
 * one table; otherwise nothing is found, rather than a guess.
 *
 * @param slot     the address the table is found from: the table itself, or (indirect) a pointer to the base
 * @param indirect whether {@code slot} holds a pointer to which {@code offset} is added
 * @param offset   the table's offset from the pointer read at {@code slot} (0 when direct)
 */
public record ArenaTable(long slot, boolean indirect, long offset) {
    /** Bytes of the getter's code searched: 3.13's lock comes before the copy, which ends within 0x40 bytes. */
    static final int CODE_BYTES = 112;

    /** The table's contents as the live target holds them. */
    public record Contents(long address, long ctx, long alloc, long free) {
    }

    /** The table's address in the target. */
    public long address(RemoteMemory memory) throws MemoryFault, SpyglassException {
        return indirect ? memory.readLong(slot) + offset : slot;
    }

    /**
     * Reads the arena table the getter at {@code getterEntry} (its address in the target) copies.
     *
     * @return empty when the code does not show one of the shapes above, or the memory cannot be read
     */
    public static Optional<Contents> read(RemoteMemory memory, long getterEntry) throws SpyglassException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment code = arena.allocate(CODE_BYTES);
            memory.read(getterEntry, code);
            Optional<ArenaTable> t = decode(code.toArray(ValueLayout.JAVA_BYTE), getterEntry);
            if (t.isEmpty()) {
                return Optional.empty();
            }
            long address = t.get().address(memory);
            MemorySegment s = arena.allocate(24, 8);
            memory.read(address, s);
            return Optional.of(new Contents(address, s.get(ValueLayout.JAVA_LONG, 0), s.get(ValueLayout.JAVA_LONG, 8),
                    s.get(ValueLayout.JAVA_LONG, 16)));
        } catch (MemoryFault e) {
            return Optional.empty();
        }
    }

    /** A load from memory: {@code base} -1 for RIP-relative (then {@code disp} is the absolute address). */
    private record Load(boolean wide, int base, long disp, int dest) {
    }

    /**
     * Decodes the getter's first bytes {@code b}, which lie at {@code entry} in the target (or the file's
     * addresses, for a test).
     */
    public static Optional<ArenaTable> decode(byte[] b, long entry) {
        List<Load> loads = new ArrayList<>();
        // registers loaded from a RIP-relative slot: register -> [slot, 1 if a pointer (mov) / 0 if an address (lea)]
        long[][] defs = new long[16][];
        int i = 0;
        while (i < b.length) {
            int end = instruction(b, i, entry, loads, defs);
            i = end > i ? end : i + 1;
        }
        for (int x = 0; x < loads.size(); x++) {
            Load first = loads.get(x);
            for (int y = x + 1; y < loads.size(); y++) {
                Load second = loads.get(y);
                if (second.wide || second.base != first.base) {
                    continue;
                }
                // a 16-byte load of {ctx, alloc} and one of free 16 bytes on; or 8-byte loads of alloc and free
                long table = first.wide ? first.disp : first.disp - 8;
                if (second.disp != table + 16 || (!first.wide && first.dest == second.dest)) {
                    continue;
                }
                if (first.base < 0) {
                    return Optional.of(new ArenaTable(table, false, 0));
                }
                long[] def = defs[first.base];
                if (def == null) {
                    return Optional.empty(); // a base register not set from a known place: no guess
                }
                return Optional.of(def[1] == 1 ? new ArenaTable(def[0], true, table)
                        : new ArenaTable(def[0] + table, false, 0));
            }
        }
        return Optional.empty();
    }

    /**
     * Recognises at {@code i} the loads that matter ({@code [66|F3] [REX] 0F 6F/28/10 modrm} 16-byte loads,
     * {@code REX.W 8B modrm} 8-byte loads, {@code REX.W 8D modrm} lea), recording them; returns the index after
     * the instruction, or {@code i} when nothing is recognised there (the caller steps one byte).
     */
    private static int instruction(byte[] b, int i, long entry, List<Load> loads, long[][] defs) {
        int p = i;
        boolean sse16 = false;
        if (at(b, p) == 0x66 || at(b, p) == 0xF3) {
            p++;
        }
        int rex = at(b, p) >= 0x40 && at(b, p) <= 0x4F ? at(b, p++) : 0;
        int op;
        if (at(b, p) == 0x0F) {
            op = at(b, p + 1);
            boolean prefixed = p > i && (rex == 0 ? p - 1 : p - 2) == i;
            int prefix = prefixed ? at(b, i) : 0;
            sse16 = op == 0x6F && (prefix == 0x66 || prefix == 0xF3) // movdqa, movdqu
                    || (op == 0x28 || op == 0x10) && prefix != 0xF3; // movaps/movapd, movups/movupd
            if (!sse16) {
                return i;
            }
            p += 2;
        } else {
            if (p == i || (rex & 0x08) == 0 || at(b, i) == 0x66 || at(b, i) == 0xF3) {
                return i; // 8-byte loads only: REX.W, no prefix
            }
            op = at(b, p);
            if (op == 0x89 && p + 1 < b.length && at(b, p + 1) >> 6 == 3) {
                defs[(at(b, p + 1) & 7) | (rex & 0x01) << 3] = null; // a register copied over a base register
                return p + 2;
            }
            if (op != 0x8B && op != 0x8D) {
                return i;
            }
            p++;
        }
        if (p >= b.length) {
            return i;
        }
        int modrm = at(b, p++);
        int mod = modrm >> 6;
        int reg = (modrm >> 3 & 7) | (rex & 0x04) << 1;
        int rm = modrm & 7;
        if (mod == 3 || rm == 4) {
            if (!sse16) {
                defs[reg] = null; // overwritten from a register or through a SIB address
            }
            return i; // register operand, or a SIB byte: not a shape the getter uses
        }
        long disp;
        int base;
        if (mod == 0 && rm == 5) {
            if (p + 4 > b.length) {
                return i;
            }
            disp = entry + p + 4 + int32(b, p);
            p += 4;
            base = -1;
        } else if (mod == 2) {
            if (p + 4 > b.length) {
                return i;
            }
            disp = int32(b, p);
            p += 4;
            base = rm | (rex & 0x01) << 3;
        } else if (mod == 1) {
            if (p + 1 > b.length) {
                return i;
            }
            disp = (byte) b[p++];
            base = rm | (rex & 0x01) << 3;
        } else {
            disp = 0;
            base = rm | (rex & 0x01) << 3;
        }
        if (!sse16 && base == -1) {
            defs[reg] = new long[] {disp, op == 0x8B ? 1 : 0};
        } else if (!sse16) {
            defs[reg] = null; // overwritten by a load from elsewhere (after this load used its old value)
        }
        if (op != 0x8D) {
            loads.add(new Load(sse16, base, disp, reg));
        }
        return p;
    }

    private static int at(byte[] b, int i) {
        return i < b.length ? b[i] & 0xFF : -1;
    }

    private static long int32(byte[] b, int at) {
        return (b[at] & 0xFF) | (b[at + 1] & 0xFF) << 8 | (b[at + 2] & 0xFF) << 16 | (long) b[at + 3] << 24;
    }
}
