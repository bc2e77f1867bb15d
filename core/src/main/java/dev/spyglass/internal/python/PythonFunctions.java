package dev.spyglass.internal.python;

import dev.spyglass.Frame;
import dev.spyglass.SpyglassException;
import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.cpython.abi.MalformedObjectException;
import dev.spyglass.cpython.abi.PythonVersion;
import dev.spyglass.cpython.abi.StringDecoder;
import dev.spyglass.internal.os.LongMap;
import dev.spyglass.internal.os.MemoryFault;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * Names the Python function a {@code PyFunctionObject} of the target runs: its code object's name, file and first
 * line, for the Python calls {@code spyglass trace} shows ({@code _PyFunction_Vectorcall(func, ...)} has the
 * function in {@code rdi}). A function object is read well after the call began (at the next poll of the probe
 * records), which is why the function, not the frame, is read: the function normally outlives the call, while the
 * frame's memory (3.11+: a slot of the thread's data stack; 3.9/3.10: a PyFrameObject kept on its code object as
 * a zombie or freed) is reused by the next call. Not thread-safe.
 */
public final class PythonFunctions {
    /** Cached code objects; cleared when full. */
    private static final int MAX_CACHED = 4096;

    private final RemoteMemory memory;
    private final Layout layout;
    private final RemoteObjects objects;
    private final long typeAt;
    private final long codeAt;
    private final LongMap<Named> byCode = new LongMap<>(256);
    private long functionType;
    private long codeType;

    /** A code object's frame and the words it was made from (a freed code's address may be reused). */
    private record Named(long name, long file, int line, Frame frame) {
    }

    public PythonFunctions(Target target) {
        this.memory = target.memory();
        this.layout = target.interpreter().layout();
        this.objects = new RemoteObjects(memory, layout, new StringDecoder(layout, 256), 256);
        this.typeAt = layout.require(Field.OBJECT_TYPE);
        PythonVersion v = layout.version();
        // PyFunctionObject after PyObject_HEAD: 3.8/3.9 func_code first; 3.10+ COMMON_FIELDS (func_globals,
        // func_builtins, func_name, func_qualname, then func_code), as in funcobject.h of each version.
        this.codeAt = typeAt + 8 + (v.isAtLeast(3, 10) ? 32 : 0);
        this.codeType = target.interpreter().codeTypeAddress();
    }

    /**
     * The function object at {@code function} as a frame (qualified name, {@code co_filename}, {@code
     * co_firstlineno} as line and first line), or null when no function object is there (any more).
     */
    public Frame frameOf(long function) throws SpyglassException {
        if (function == 0 || (function & 7) != 0) {
            return null;
        }
        try {
            long type = memory.readLong(function + typeAt);
            if (!isType(type, true)) {
                return null;
            }
            long code = memory.readLong(function + codeAt);
            if (code == 0 || (code & 7) != 0 || !isType(memory.readLong(code + typeAt), false)) {
                return null;
            }
            long name = memory.readLong(code + layout.require(layout.has(Field.CODE_QUALNAME) ? Field.CODE_QUALNAME
                    : Field.CODE_NAME));
            long file = memory.readLong(code + layout.require(Field.CODE_FILENAME));
            int line = (int) memory.readLong(code + layout.require(Field.CODE_FIRSTLINENO)); // an int: low half
            Named known = byCode.get(code);
            if (known != null && known.name() == name && known.file() == file && known.line() == line) {
                return known.frame();
            }
            String qualified = objects.string(name);
            String simple = objects.string(memory.readLong(code + layout.require(Field.CODE_NAME)));
            Frame f = Frame.python(simple, qualified, objects.string(file), line, line);
            if (byCode.size() >= MAX_CACHED) {
                byCode.clear();
            }
            byCode.put(code, new Named(name, file, line, f));
            return f;
        } catch (MemoryFault | MalformedObjectException e) {
            return null; // freed and unmapped, or no longer a function: said by the caller
        }
    }

    /** Whether {@code type} is {@code function} (or {@code code}), learned by its tp_name once. */
    private boolean isType(long type, boolean function) throws MemoryFault, SpyglassException {
        long known = function ? functionType : codeType;
        if (known != 0) {
            return type == known;
        }
        if (type == 0 || (type & 7) != 0) {
            return false;
        }
        if (!(function ? "function" : "code").equals(objects.typeName(type, 16))) {
            return false;
        }
        if (function) {
            functionType = type;
        } else {
            codeType = type;
        }
        return true;
    }
}
