package dev.spyglass.internal.leaks;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Optional;

import dev.spyglass.SpyglassException;
import dev.spyglass.internal.os.MemoryFault;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * One domain's allocator table ({@code PyMemAllocatorEx}: {@code ctx, malloc, calloc, realloc, free}) as the live
 * target holds it, found through the exported functions that call through it: {@code PyObject_Malloc} reads the
 * obj domain's {@code malloc} slot with its first RIP-relative load, {@code PyObject_Free} the {@code free} slot
 * (the raw domain: {@code PyMem_RawMalloc} / {@code PyMem_RawFree}). The table lives in {@code _PyRuntime} from
 * 3.12 on ({@code allocators.standard}, at a different offset in every version: 0x310 on Debian's 3.13, 0x3c0 on
 * 3.14, 0x440 on 3.15 for obj) and in a static of obmalloc.c on 3.11 ({@code _PyObject}, stripped on Debian), so
 * the code of the exported functions, which every build keeps, is the one way to it that needs no symbol.
 *
 * <p>Why it matters on Debian's LTO builds (3.11 static, 3.13-3.15): GCC devirtualised the table speculatively.
 * {@code PyObject_Malloc} compares the table's {@code malloc} with the address of the out-of-line
 * {@code _PyObject_Malloc} (a {@code cmp $imm32} right after the load: {@link #devirtualized}) and runs an inlined
 * pymalloc when they match; LTO copied that pair into hundreds of callers (190 on 3.11, 244 on 3.13, 260 on 3.14,
 * 281 on 3.15). So while the table holds the default the out-of-line functions are not called at all, and the
 * exported ones rarely. Once the table is hooked ({@code PyMem_SetAllocator}: tracemalloc, a debugging hook) every
 * call goes through it, and its entries are the functions to probe.
 *
 * @param address       the table's address in the target
 * @param devirtualized the address the exported function compares {@code malloc} with (0: no such comparison)
 */
public record AllocatorTable(long address, long ctx, long malloc, long calloc, long realloc, long free,
        long devirtualized) {
    /** Bytes of an exported function's code searched for the load and the comparison. */
    static final int CODE_BYTES = 64;

    /**
     * Whether {@code malloc} is the default the callers' inlined copies compare with: then the table's functions
     * are bypassed by them.
     */
    public boolean bypassed() {
        return devirtualized != 0 && malloc == devirtualized;
    }

    /**
     * Reads the table both exported functions point to.
     *
     * @param mallocEntry address in the target of the exported allocation function ({@code PyObject_Malloc})
     * @param freeEntry   address in the target of the exported release function ({@code PyObject_Free})
     * @return empty when the code does not show the pattern, or the two loads disagree on the table
     */
    public static Optional<AllocatorTable> find(RemoteMemory memory, long mallocEntry, long freeEntry)
            throws SpyglassException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment code = arena.allocate(CODE_BYTES);
            return table(memory, loadAndCompare(memory, mallocEntry, code), loadAndCompare(memory, freeEntry, code));
        } catch (MemoryFault e) {
            return Optional.empty();
        }
    }

    /**
     * As {@link #find(RemoteMemory, long, long)}, the code read from the object's file at the functions' file
     * offsets rather than from the target: a function this process probes shows an {@code int3} at its entry in
     * the target (the tracker re-choosing its points while its probes are in place, {@link ProbePoints#forTarget}).
     */
    public static Optional<AllocatorTable> find(RemoteMemory memory, long mallocEntry, long freeEntry,
            java.nio.file.Path file, long mallocOffset, long freeOffset) throws SpyglassException {
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file)) {
            return table(memory, loadAndCompare(read(ch, mallocOffset), mallocEntry),
                    loadAndCompare(read(ch, freeOffset), freeEntry));
        } catch (java.io.IOException e) {
            return find(memory, mallocEntry, freeEntry);
        }
    }

    private static byte[] read(java.nio.channels.FileChannel ch, long offset) throws java.io.IOException {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(CODE_BYTES);
        while (b.hasRemaining() && ch.read(b, offset + b.position()) > 0) {
            // a function near the end of the file: the rest stays zero
        }
        return b.array();
    }

    private static Optional<AllocatorTable> table(RemoteMemory memory, long[] malloc, long[] free)
            throws SpyglassException {
        if (malloc == null || free == null || malloc[0] - 8 != free[0] - 32) {
            return Optional.empty();
        }
        long table = malloc[0] - 8;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment t = arena.allocate(40, 8);
            memory.read(table, t);
            return Optional.of(new AllocatorTable(table, t.get(ValueLayout.JAVA_LONG, 0),
                    t.get(ValueLayout.JAVA_LONG, 8), t.get(ValueLayout.JAVA_LONG, 16), t.get(ValueLayout.JAVA_LONG, 24),
                    t.get(ValueLayout.JAVA_LONG, 32), malloc[1]));
        } catch (MemoryFault e) {
            return Optional.empty();
        }
    }

    /**
     * The address of the table both exported functions call through, on any x86-64 build: the table {@link #find}
     * reads (Debian's LTO builds), else the slot of the exported function's indirect jump, {@code jmp
     * *disp32(%rip)} (pyenv's 3.6 - 3.11: the table is a static of obmalloc.c) or {@code jmp *disp(%reg)} after
     * {@code mov disp32(%rip), %reg} loads {@code _PyRuntime}'s address from the GOT (pyenv's 3.12, 3.13 shared
     * builds: the table lives in {@code _PyRuntime}). The malloc slot is at 8, the free slot at 32: both must agree.
     *
     * @return empty when neither shape is found, or the two functions disagree on the table
     */
    public static java.util.OptionalLong locate(RemoteMemory memory, long mallocEntry, long freeEntry)
            throws SpyglassException {
        Optional<AllocatorTable> direct = find(memory, mallocEntry, freeEntry);
        if (direct.isPresent()) {
            return java.util.OptionalLong.of(direct.get().address());
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment code = arena.allocate(CODE_BYTES);
            memory.read(mallocEntry, code);
            long malloc = jumpSlot(memory, code.toArray(ValueLayout.JAVA_BYTE), mallocEntry);
            memory.read(freeEntry, code);
            long free = jumpSlot(memory, code.toArray(ValueLayout.JAVA_BYTE), freeEntry);
            return malloc != 0 && malloc - 8 == free - 32 ? java.util.OptionalLong.of(malloc - 8)
                    : java.util.OptionalLong.empty();
        } catch (MemoryFault e) {
            return java.util.OptionalLong.empty();
        }
    }

    /**
     * The memory slot of the first indirect {@code jmp} / {@code call} of the code at {@code entry}: {@code FF 25}
     * (RIP-relative), or {@code FF /4} or {@code FF /2} with a displacement off a register that a RIP-relative
     * {@code mov} loaded before (the GOT entry then read from the target); 0 when none.
     */
    static long jumpSlot(RemoteMemory memory, byte[] b, long entry) throws MemoryFault, SpyglassException {
        int loaded = -1; // the register a RIP-relative 8-byte load filled, and the address it read
        long from = 0;
        for (int i = 0; i + 6 <= b.length; i++) {
            int b0 = b[i] & 0xFF;
            int b1 = b[i + 1] & 0xFF;
            if (b0 == 0xFF && b1 == 0x25) {
                return entry + i + 6 + int32(b, i + 2);
            }
            if (b0 == 0x48 && b1 == 0x8B && i + 7 <= b.length && (b[i + 2] & 0xC7) == 0x05) {
                loaded = (b[i + 2] >> 3) & 7;
                from = entry + i + 7 + int32(b, i + 3);
                i += 6;
                continue;
            }
            int reg = (b1 >> 3) & 7;
            int mod = b1 >> 6;
            // rm 4 would need a SIB byte: not a shape these functions have
            if (loaded >= 0 && loaded != 4 && b0 == 0xFF && (b1 & 7) == loaded && (reg == 2 || reg == 4)
                    && (mod == 1 || mod == 2)) {
                return memory.readLong(from) + (mod == 1 ? b[i + 2] : int32(b, i + 2));
            }
        }
        return 0;
    }

    /**
     * The target of the first {@code mov disp32(%rip), %reg} (REX.W 8B, ModRM mod 00 r/m 101) of the function at
     * {@code entry}, and the immediate of the first {@code cmp $imm32, %reg} (REX.W 3D, or REX.W 81 /7) after it
     * (0: none); null when there is no such load.
     */
    static long[] loadAndCompare(RemoteMemory memory, long entry, MemorySegment code)
            throws MemoryFault, SpyglassException {
        memory.read(entry, code);
        byte[] b = code.toArray(ValueLayout.JAVA_BYTE);
        return loadAndCompare(b, entry);
    }

    static long[] loadAndCompare(byte[] b, long entry) {
        for (int i = 0; i + 7 <= b.length; i++) {
            if ((b[i] & 0xFB) == 0x48 && (b[i + 1] & 0xFF) == 0x8B && (b[i + 2] & 0xC7) == 0x05) {
                long slot = entry + i + 7 + int32(b, i + 3);
                return new long[] {slot, compared(b, i + 7)};
            }
        }
        return null;
    }

    private static long compared(byte[] b, int from) {
        for (int i = from; i + 6 <= b.length; i++) {
            if ((b[i] & 0xFF) == 0x48 && (b[i + 1] & 0xFF) == 0x3D) {
                return int32(b, i + 2);
            }
            if (i + 7 <= b.length && (b[i] & 0xFB) == 0x48 && (b[i + 1] & 0xFF) == 0x81
                    && (b[i + 2] & 0xF8) == 0xF8) {
                return int32(b, i + 3);
            }
        }
        return 0;
    }

    private static long int32(byte[] b, int at) {
        return (b[at] & 0xFF) | (b[at + 1] & 0xFF) << 8 | (b[at + 2] & 0xFF) << 16 | (long) b[at + 3] << 24;
    }
}
