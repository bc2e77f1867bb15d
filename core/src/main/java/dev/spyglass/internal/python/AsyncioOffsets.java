package dev.spyglass.internal.python;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.spyglass.SpyglassException;
import dev.spyglass.elf.ElfFile;
import dev.spyglass.elf.Section;
import dev.spyglass.internal.os.MemoryFault;
import dev.spyglass.internal.os.ProcessMap;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * The {@code _asyncio} module's own debug offsets (CPython 3.14+): the {@code _AsyncioDebug} struct
 * ({@code Py_AsyncioModuleDebugOffsets} in Modules/_asynciomodule.c) that the module places in an ELF
 * section named {@code AsyncioDebug}, as {@code python -m asyncio pstree} and the 3.15 sampler read it.
 * Thirteen {@code uint64}: the task object (size, name, awaited_by, is_task, awaited_by_is_set, coro,
 * task_node), the interpreter state (size, tasks_head) and the thread state (size, running_loop,
 * running_task, tasks_head). The section is in the executable or {@code libpython} when {@code _asyncio}
 * is built in (Debian's 3.15), else in {@code _asyncio.cpython-3XX-*.so}, mapped only once the program
 * imports {@code asyncio} (Debian's 3.14): so a miss is looked for again later.
 */
record AsyncioOffsets(long taskSize, long taskName, long taskAwaitedBy, long taskIsTask, long taskAwaitedByIsSet,
        long taskCoro, long taskNode, long interpSize, long interpTasksHead, long tstateSize, long runningLoop,
        long runningTask, long tstateTasksHead, String source) {

    static final String SECTION = ".AsyncioDebug";
    private static final int WORDS = 13;
    /** {@code TaskObj} is about 170 bytes (3.14, 3.15); more than this is not a task layout. */
    private static final long MAX_TASK_SIZE = 4096;
    /** {@code _PyThreadStateImpl} is under 2 KiB (3.14, 3.15); {@code PyInterpreterState} is large. */
    private static final long MAX_TSTATE_SIZE = 1 << 16;
    private static final long MAX_INTERP_SIZE = 1 << 24;

    /**
     * Finds and reads the section in the target, or empty when no mapped object has it (asyncio not
     * imported yet on a build with {@code _asyncio} as a module).
     *
     * @throws IllegalStateException the section is there but its values are not a task layout
     */
    static Optional<AsyncioOffsets> locate(long pid, RemoteMemory memory) throws SpyglassException {
        ProcessMap map = ProcessMap.read(pid);
        for (Map.Entry<String, List<ProcessMap.Mapping>> e : map.files().entrySet()) {
            String name = Path.of(e.getKey()).getFileName().toString();
            if (!name.contains("python") && !name.startsWith("_asyncio")) {
                continue;
            }
            ProcessMap.Mapping first = e.getValue().stream()
                    .min(Comparator.comparingLong(ProcessMap.Mapping::fileOffset)).orElseThrow();
            Optional<Path> file = map.openablePath(first);
            if (file.isEmpty()) {
                continue;
            }
            long address;
            try (ElfFile elf = ElfFile.open(file.get())) {
                Optional<Section> s = elf.section(SECTION);
                if (s.isEmpty() || s.get().size() < WORDS * 8L) {
                    continue;
                }
                address = elf.loadBias(first.start(), first.fileOffset()) + s.get().address();
            } catch (IOException | RuntimeException ex) {
                continue;
            }
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment buf = arena.allocate(WORDS * 8L, 8);
                memory.read(address, buf);
                long[] w = buf.toArray(ValueLayout.JAVA_LONG);
                return Optional.of(of(w, e.getKey()));
            } catch (MemoryFault f) {
                continue;
            }
        }
        return Optional.empty();
    }

    /** The struct from its thirteen words, checked: each offset inside its struct's size. */
    static AsyncioOffsets of(long[] w, String source) {
        AsyncioOffsets o = new AsyncioOffsets(w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8], w[9], w[10],
                w[11], w[12], source);
        check(o.taskSize > 0 && o.taskSize <= MAX_TASK_SIZE, "task size", o.taskSize);
        for (long field : new long[] {o.taskName, o.taskAwaitedBy, o.taskCoro, o.taskNode}) {
            check(field >= 16 && field + 8 <= o.taskSize && (field & 7) == 0, "task field", field);
        }
        check(o.taskIsTask < o.taskSize && o.taskAwaitedByIsSet < o.taskSize, "task flag", o.taskIsTask);
        check(o.tstateSize > 0 && o.tstateSize <= MAX_TSTATE_SIZE, "thread state size", o.tstateSize);
        for (long field : new long[] {o.runningLoop, o.runningTask, o.tstateTasksHead}) {
            check(field + 8 <= o.tstateSize && (field & 7) == 0, "thread state field", field);
        }
        check(o.interpSize > 0 && o.interpSize <= MAX_INTERP_SIZE && o.interpTasksHead + 8 <= o.interpSize,
                "interpreter field", o.interpTasksHead);
        return o;
    }

    private static void check(boolean ok, String what, long value) {
        if (!ok) {
            throw new IllegalStateException("the _asyncio module's AsyncioDebug offsets are not a task layout ("
                    + what + " " + value + ")");
        }
    }
}
