package dev.spyglass.internal.nativeframes;

import java.util.Optional;
import java.util.Set;

import dev.spyglass.Frame;
import dev.spyglass.internal.os.LongMap;

/**
 * What a native program counter is to a merged stack: an activation of the evaluation loop (replaced
 * by the Python frames it ran), a frame to hide (the interpreter's own plumbing, a thread's libc
 * entry), or a {@link Frame} to show. Each address is resolved once and kept (up to a bound), so a
 * steady-state sampler allocates no native frames.
 */
final class NativeFrameResolver {
    /** How a program counter takes part in a merged stack. */
    enum Role { EVAL, HIDDEN, SHOWN }

    /** A resolved program counter: its role and, when shown, its frame. */
    record Resolved(Role role, Frame frame, String symbol) {
        /** The {@code [anonymous]} frame: an address in no mapped file. */
        boolean unmapped() {
            return frame == ANONYMOUS;
        }
    }

    private static final Frame ANONYMOUS = Frame.nativeFrame("[anonymous]", "[anonymous]");

    /** Addresses kept at most; the cache starts over beyond (a program with that many call sites is rare). */
    private static final int MAX_CACHED = 1 << 16;

    /**
     * Functions of the interpreter worth seeing though the interpreter's own frames are hidden (as
     * py-spy keeps some): a thread sleeping, waiting for the GIL, or for a lock, all CPython 2.7 – 3.15.
     */
    private static final Set<String> KEPT_INTERPRETER_FUNCTIONS = Set.of("time_sleep", "take_gil",
            "PyGILState_Ensure", "PyThread_acquire_lock_timed");

    /** libc's entry points of a program and of a thread: the same root under every stack, hidden like py-spy does. */
    private static final Set<String> THREAD_ROOTS = Set.of("_start", "__libc_start_main", "__libc_start_call_main",
            "start_thread", "clone", "clone3", "__clone", "__clone3");

    private final NativeObjects objects;
    private final String interpreterPath;
    /** The process's executable when it is a {@code python*} program (its {@code main} and start-up are plumbing too); else null. */
    private final String pythonExecutable;
    private final String evalFunction;
    private final boolean keepInterpreterFrames;
    private final LongMap<Resolved> byAddress = new LongMap<>(1 << 10);

    /**
     * @param interpreterPath       the object holding the interpreter (libpython, or the executable of a
     *                              static build), as the process maps it
     * @param evalFunction          the evaluation loop's symbol: {@code PyEval_EvalFrameEx} on 2.7,
     *                              {@code _PyEval_EvalFrameDefault} from 3.6 on (3.6 – 3.10 run one
     *                              activation per Python frame; 3.11+ one per C-level call, see
     *                              {@code WalkedFrames})
     * @param keepInterpreterFrames show the interpreter's other frames instead of hiding them
     */
    NativeFrameResolver(NativeObjects objects, String interpreterPath, String pythonExecutable, String evalFunction,
            boolean keepInterpreterFrames) {
        this.objects = objects;
        this.interpreterPath = interpreterPath;
        this.pythonExecutable = pythonExecutable;
        this.evalFunction = evalFunction;
        this.keepInterpreterFrames = keepInterpreterFrames;
    }

    /**
     * Resolves {@code pc}. {@code returnAddress}: the frame is a caller, at the address after its call
     * instruction, so {@code pc - 1} is looked up (a call at a function's very end would otherwise be
     * taken for the next function).
     */
    Resolved resolve(long pc, boolean returnAddress) {
        long at = returnAddress ? pc - 1 : pc;
        Resolved r = byAddress.get(at);
        if (r == null) {
            if (byAddress.size() >= MAX_CACHED) {
                byAddress.clear();
            }
            r = compute(at);
            // An address in no known object is not kept: on a launched target the first looks come before
            // the loader mapped libpython and libc, and the mappings are read again later (NativeObjects).
            if (!r.unmapped()) {
                byAddress.put(at, r);
            }
        }
        return r;
    }

    private Resolved compute(long at) {
        Optional<NativeObjects.MappedObject> o = objects.objectAt(at);
        if (o.isEmpty()) {
            // JIT code, a trampoline in anonymous memory: nothing names it.
            return new Resolved(Role.SHOWN, ANONYMOUS, null);
        }
        NativeObjects.MappedObject object = o.get();
        if (object.pending()) {
            // Not met by a merge (a walk reaching a pending object is not merged); never kept, as unmapped.
            return new Resolved(Role.SHOWN, ANONYMOUS, null);
        }
        String symbol = objects.symbolize(object, at).orElse(null);
        boolean interpreter = object.path().equals(interpreterPath) || object.path().equals(pythonExecutable);
        if (interpreter && (symbol != null ? isEvalLoop(symbol) : unnamedEvalPart(object, at))) {
            return new Resolved(Role.EVAL, null, symbol);
        }
        if (symbol != null && THREAD_ROOTS.contains(symbol)) {
            return new Resolved(Role.HIDDEN, null, symbol);
        }
        if (interpreter && !keepInterpreterFrames && (symbol == null || !KEPT_INTERPRETER_FUNCTIONS.contains(symbol))) {
            return new Resolved(Role.HIDDEN, null, symbol);
        }
        String function = symbol != null ? symbol : unknown(object, at);
        return new Resolved(Role.SHOWN, Frame.nativeFrame(function, object.path()), symbol);
    }

    /**
     * The evaluation loop, including the parts GCC splits off it ({@code _PyEval_EvalFrameDefault.cold},
     * named only where {@code .symtab} is kept: a stripped build's cold part is an unnamed interpreter
     * address, which makes that sample torn, not wrong).
     */
    private boolean isEvalLoop(String symbol) {
        return symbol.equals(evalFunction) || symbol.startsWith(evalFunction + ".")
                || symbol.startsWith(evalFunction + " [clone");
    }

    private EvalLoopExtents evalParts;

    /** An unnamed part of the evaluation loop in a stripped interpreter (see {@link EvalLoopExtents}). */
    private boolean unnamedEvalPart(NativeObjects.MappedObject object, long at) {
        if (object.table() == null || !object.path().equals(interpreterPath)) {
            return false;
        }
        if (evalParts == null) {
            evalParts = EvalLoopExtents.find(object.elf(), object.symbols(), object.table(), evalFunction);
        }
        return evalParts.contains(at - object.bias());
    }

    /** {@code libfoo.so+0x1a2b}: the object and the address in its file's address space, when no symbol covers it. */
    private static String unknown(NativeObjects.MappedObject o, long at) {
        String path = o.path();
        String name = path.substring(path.lastIndexOf('/') + 1);
        return name + "+0x" + Long.toHexString(at - o.bias());
    }
}
