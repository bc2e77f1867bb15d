package dev.spyglass.cpython.abi;

import static dev.spyglass.cpython.abi.Field.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the {@code _Py_DebugOffsets} table that CPython 3.13 and later place at the very start of
 * {@code _PyRuntime} (and therefore at the start of the {@code .PyRuntime} ELF section), and builds a
 * {@link Layout} from it.
 *
 * <p>The table begins with the cookie {@code "xdebugpy"}, the {@code PY_VERSION_HEX} of the build
 * (uint64) and a {@code free_threaded} flag (uint64), followed by one group of uint64 values per struct:
 * its {@code sizeof}, then member offsets. The set of groups and members is itself version dependent
 * ({@code Include/internal/pycore_runtime.h} in 3.13, {@code pycore_debug_offsets.h} in 3.14, which
 * adds {@code threads_main}, {@code code_object_generation}, {@code tlbc_generation},
 * {@code stackpointer}, {@code tlbc_index}, {@code co_tlbc} and the set, generator, list-node and
 * debugger groups; 3.15 grows thread_state, type_object, unicode_object and gc and adds the
 * err_stackitem and heap_type_object groups), so the parse is keyed on the version found in the header.
 * A version newer than 3.15 is read in the 3.15 format, with a warning, and accepted only if every
 * plausibility check passes.
 *
 * <p>Fields the table does not carry are filled with values that have been stable since 3.11; each is
 * listed in docs/cpython-layouts.md (section "Values not carried by _Py_DebugOffsets") and commented where
 * it is set.
 */
public final class DebugOffsets {

    private static final Logger LOG = LoggerFactory.getLogger(DebugOffsets.class);

    /**
     * How many bytes from the start of {@code _PyRuntime} the caller must read and pass to
     * {@link #parse}: the 3.15 table is 888 bytes; the rest is headroom for later versions.
     */
    public static final int BYTES_TO_READ = 1024;

    /** The cookie, {@code "xdebugpy"}, as the first 8 bytes. */
    public static final String COOKIE = "xdebugpy";

    // Upper bounds for plausibility: _PyRuntimeState and PyInterpreterState are large (283 KB and
    // 195 KB in 3.13) because of embedded caches; every other struct is far below 64 KiB.
    private static final long MAX_LARGE_STRUCT = 16L << 20;
    private static final long MAX_STRUCT = 64L << 10;

    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int HEADER_BYTES = 24;

    /** One struct group of the table: its name, whether its first value is a size, and member names. */
    private record Group(String name, boolean sized, List<String> members) {
        static Group sized(String name, String... members) {
            return new Group(name, true, List.of(members));
        }

        static Group unsized(String name, String... members) {
            return new Group(name, false, List.of(members));
        }
    }

    private static final List<Group> FORMAT_3_13 = List.of(
            Group.sized("runtime_state", "finalizing", "interpreters_head"),
            Group.sized("interpreter_state", "id", "next", "threads_head", "gc", "imports_modules", "sysdict",
                    "builtins", "ceval_gil", "gil_runtime_state", "gil_runtime_state_enabled",
                    "gil_runtime_state_locked", "gil_runtime_state_holder"),
            Group.sized("thread_state", "prev", "next", "interp", "current_frame", "thread_id", "native_thread_id",
                    "datastack_chunk", "status"),
            Group.sized("interpreter_frame", "previous", "executable", "instr_ptr", "localsplus", "owner"),
            Group.sized("code_object", "filename", "name", "qualname", "linetable", "firstlineno", "argcount",
                    "localsplusnames", "localspluskinds", "co_code_adaptive"),
            Group.sized("pyobject", "ob_type"),
            Group.sized("type_object", "tp_name", "tp_repr", "tp_flags"),
            Group.sized("tuple_object", "ob_item", "ob_size"),
            Group.sized("list_object", "ob_item", "ob_size"),
            Group.sized("dict_object", "ma_keys", "ma_values"),
            Group.sized("float_object", "ob_fval"),
            Group.sized("long_object", "lv_tag", "ob_digit"),
            Group.sized("bytes_object", "ob_size", "ob_sval"),
            Group.sized("unicode_object", "state", "length", "asciiobject_size"),
            Group.sized("gc", "collecting"));

    private static final List<Group> FORMAT_3_14 = List.of(
            Group.sized("runtime_state", "finalizing", "interpreters_head"),
            Group.sized("interpreter_state", "id", "next", "threads_head", "threads_main", "gc", "imports_modules",
                    "sysdict", "builtins", "ceval_gil", "gil_runtime_state", "gil_runtime_state_enabled",
                    "gil_runtime_state_locked", "gil_runtime_state_holder", "code_object_generation",
                    "tlbc_generation"),
            Group.sized("thread_state", "prev", "next", "interp", "current_frame", "thread_id", "native_thread_id",
                    "datastack_chunk", "status"),
            Group.sized("interpreter_frame", "previous", "executable", "instr_ptr", "localsplus", "owner",
                    "stackpointer", "tlbc_index"),
            Group.sized("code_object", "filename", "name", "qualname", "linetable", "firstlineno", "argcount",
                    "localsplusnames", "localspluskinds", "co_code_adaptive", "co_tlbc"),
            Group.sized("pyobject", "ob_type"),
            Group.sized("type_object", "tp_name", "tp_repr", "tp_flags"),
            Group.sized("tuple_object", "ob_item", "ob_size"),
            Group.sized("list_object", "ob_item", "ob_size"),
            Group.sized("set_object", "used", "table", "mask"),
            Group.sized("dict_object", "ma_keys", "ma_values"),
            Group.sized("float_object", "ob_fval"),
            Group.sized("long_object", "lv_tag", "ob_digit"),
            Group.sized("bytes_object", "ob_size", "ob_sval"),
            Group.sized("unicode_object", "state", "length", "asciiobject_size"),
            Group.sized("gc", "collecting"),
            Group.sized("gen_object", "gi_name", "gi_iframe", "gi_frame_state"),
            Group.unsized("llist_node", "next", "prev"),
            Group.unsized("debugger_support", "eval_breaker", "remote_debugger_support", "remote_debugging_enabled",
                    "debugger_pending_call", "debugger_script_path", "debugger_script_path_size"));

    // 3.15 (v3.15.0b4 on; checked against Debian's 3.15.2 on disk, 888 bytes): thread_state gains
    // base_frame, last_profiled_frame, last_profiled_frame_seq after current_frame and holds_gil,
    // gil_requested, current_exception, exc_state after status; a new unsized err_stackitem group;
    // type_object gains tp_basicsize, tp_dictoffset; a new heap_type_object group; unicode_object gains
    // compactunicodeobject_size; gc gains frame, generation_stats_size, generation_stats.
    private static final List<Group> FORMAT_3_15 = List.of(
            Group.sized("runtime_state", "finalizing", "interpreters_head"),
            Group.sized("interpreter_state", "id", "next", "threads_head", "threads_main", "gc", "imports_modules",
                    "sysdict", "builtins", "ceval_gil", "gil_runtime_state", "gil_runtime_state_enabled",
                    "gil_runtime_state_locked", "gil_runtime_state_holder", "code_object_generation",
                    "tlbc_generation"),
            Group.sized("thread_state", "prev", "next", "interp", "current_frame", "base_frame",
                    "last_profiled_frame", "last_profiled_frame_seq", "thread_id", "native_thread_id",
                    "datastack_chunk", "status", "holds_gil", "gil_requested", "current_exception", "exc_state"),
            Group.unsized("err_stackitem", "exc_value"),
            Group.sized("interpreter_frame", "previous", "executable", "instr_ptr", "localsplus", "owner",
                    "stackpointer", "tlbc_index"),
            Group.sized("code_object", "filename", "name", "qualname", "linetable", "firstlineno", "argcount",
                    "localsplusnames", "localspluskinds", "co_code_adaptive", "co_tlbc"),
            Group.sized("pyobject", "ob_type"),
            Group.sized("type_object", "tp_name", "tp_repr", "tp_flags", "tp_basicsize", "tp_dictoffset"),
            Group.sized("heap_type_object", "ht_cached_keys"),
            Group.sized("tuple_object", "ob_item", "ob_size"),
            Group.sized("list_object", "ob_item", "ob_size"),
            Group.sized("set_object", "used", "table", "mask"),
            Group.sized("dict_object", "ma_keys", "ma_values"),
            Group.sized("float_object", "ob_fval"),
            Group.sized("long_object", "lv_tag", "ob_digit"),
            Group.sized("bytes_object", "ob_size", "ob_sval"),
            Group.sized("unicode_object", "state", "length", "asciiobject_size", "compactunicodeobject_size"),
            Group.sized("gc", "collecting", "frame", "generation_stats_size", "generation_stats"),
            Group.sized("gen_object", "gi_name", "gi_iframe", "gi_frame_state"),
            Group.unsized("llist_node", "next", "prev"),
            Group.unsized("debugger_support", "eval_breaker", "remote_debugger_support", "remote_debugging_enabled",
                    "debugger_pending_call", "debugger_script_path", "debugger_script_path_size"));

    /** The newest table format this class knows; later versions are tried in it, with a warning. */
    private static final int NEWEST_KNOWN_MINOR = 15;

    // Groups whose members are offsets into a struct other than the group's own (or not offsets at
    // all), so "offset < size" does not apply to them.
    private static final List<String> NOT_OFFSETS_INTO_OWN_STRUCT = List.of(
            "interpreter_state.gil_runtime_state_enabled", // offset inside struct _gil_runtime_state (3.13t+)
            "gc.generation_stats_size", // 3.15: sizeof the stats array gc.generation_stats points to
            "debugger_support.remote_debugger_support", "debugger_support.remote_debugging_enabled",
            "debugger_support.eval_breaker", "debugger_support.debugger_pending_call",
            "debugger_support.debugger_script_path", "debugger_support.debugger_script_path_size");

    private DebugOffsets() {
    }

    /** Size in bytes of the table in the 3.13 (584), 3.14 (760) or 3.15 (888) format. */
    static int tableSize(PythonVersion headerVersion) {
        return HEADER_BYTES + 8 * countValues(formatFor(headerVersion));
    }

    private static List<Group> formatFor(PythonVersion version) {
        if (version.isAtLeast(3, 15)) {
            return FORMAT_3_15;
        }
        return version.isAtLeast(3, 14) ? FORMAT_3_14 : FORMAT_3_13;
    }

    private static int countValues(List<Group> format) {
        int n = 0;
        for (Group g : format) {
            n += g.members().size() + (g.sized() ? 1 : 0);
        }
        return n;
    }

    /**
     * Reads only the header: checks the cookie and returns the version recorded in the table, with the
     * table's free-threaded flag.
     *
     * @param runtimeStart at least the first 24 bytes of {@code _PyRuntime}
     * @throws InvalidDebugOffsetsException when the cookie is wrong, the segment is too short, or the
     *                                      version or flag cannot be a CPython 3.x build
     */
    public static PythonVersion readVersion(MemorySegment runtimeStart) throws InvalidDebugOffsetsException {
        Objects.requireNonNull(runtimeStart, "runtimeStart");
        if (runtimeStart.byteSize() < HEADER_BYTES) {
            throw new InvalidDebugOffsetsException("need at least " + HEADER_BYTES
                    + " bytes of _PyRuntime for the _Py_DebugOffsets header, got " + runtimeStart.byteSize());
        }
        byte[] cookie = runtimeStart.asSlice(0, 8).toArray(ValueLayout.JAVA_BYTE);
        if (!COOKIE.equals(new String(cookie, StandardCharsets.ISO_8859_1))) {
            throw new InvalidDebugOffsetsException("no _Py_DebugOffsets at this address: cookie is "
                    + printable(cookie) + ", expected \"" + COOKIE
                    + "\" (wrong _PyRuntime address, or CPython < 3.13)");
        }
        long hex = runtimeStart.get(U64, 8);
        long freeThreaded = runtimeStart.get(U64, 16);
        if (freeThreaded != 0 && freeThreaded != 1) {
            throw new InvalidDebugOffsetsException("_Py_DebugOffsets.free_threaded is " + freeThreaded
                    + ", expected 0 or 1");
        }
        if ((hex >>> 32) != 0) {
            throw new InvalidDebugOffsetsException("_Py_DebugOffsets.version is 0x" + Long.toHexString(hex)
                    + ", not a PY_VERSION_HEX");
        }
        try {
            return PythonVersion.fromHex(hex, freeThreaded == 1);
        } catch (IllegalArgumentException e) {
            throw new InvalidDebugOffsetsException("_Py_DebugOffsets.version is 0x" + Long.toHexString(hex)
                    + ", not a PY_VERSION_HEX");
        }
    }

    /**
     * Parses the table and builds a {@link Layout}, trusting the version recorded in it.
     *
     * @see #parse(MemorySegment, PythonVersion)
     */
    public static Layout parse(MemorySegment runtimeStart)
            throws InvalidDebugOffsetsException, UnsupportedLayoutException {
        return parse(runtimeStart, null);
    }

    /**
     * Parses the table at the start of {@code runtimeStart} and builds a {@link Layout}.
     *
     * @param runtimeStart the first {@link #BYTES_TO_READ} bytes of {@code _PyRuntime} (at least the
     *                     table's own size: 584 bytes for 3.13, 760 for 3.14, 888 for 3.15); little-endian
     * @param expected     the version detected by other means (e.g. {@code Py_Version}); major and
     *                     minor must match the table, and the micro too when it is known (not -1). The
     *                     free-threaded flag is taken from the table. {@code null} to trust the table.
     * @return a layout whose {@link Layout#version()} is the table's version
     * @throws InvalidDebugOffsetsException      when the cookie, version or any size or offset is not
     *                                           plausible; the message names the field and value
     * @throws UnsupportedLayoutException when the table says 3.12 or older (no such table exists
     *                                           there: this is a wrong address or a forged table)
     */
    public static Layout parse(MemorySegment runtimeStart, PythonVersion expected)
            throws InvalidDebugOffsetsException, UnsupportedLayoutException {
        PythonVersion version = readVersion(runtimeStart);
        if (!version.isAtLeast(3, 13)) {
            throw new UnsupportedLayoutException(version,
                    "_Py_DebugOffsets reports a version before 3.13, which never had this table");
        }
        if (expected != null) {
            boolean sameMinor = expected.major() == version.major() && expected.minor() == version.minor();
            boolean sameMicro = expected.micro() < 0 || expected.micro() == version.micro();
            if (!sameMinor || !sameMicro) {
                throw new InvalidDebugOffsetsException("_Py_DebugOffsets.version is " + version
                        + " but the target was detected as " + expected);
            }
            if (expected.freeThreaded() != version.freeThreaded()) {
                LOG.debug("CPython {}: _Py_DebugOffsets.free_threaded = {} overrides the detected flag",
                        version, version.freeThreaded());
            }
        }
        boolean future = version.isAtLeast(3, NEWEST_KNOWN_MINOR + 1);
        List<Group> format = formatFor(version);
        int needed = HEADER_BYTES + 8 * countValues(format);
        if (runtimeStart.byteSize() < needed) {
            throw new InvalidDebugOffsetsException("_Py_DebugOffsets of " + version + " needs " + needed
                    + " bytes, got " + runtimeStart.byteSize());
        }
        Map<String, Long> v = read(runtimeStart, format);
        validate(v, format, version);
        if (future) {
            LOG.warn("CPython {} is newer than any version Spyglass was tested with; its _Py_DebugOffsets "
                    + "passed every check in the 3.{} format, so it is used as such", version, NEWEST_KNOWN_MINOR);
        }
        try {
            return DebugOffsetsLayout.toLayout(v, version);
        } catch (IllegalArgumentException e) {
            // validate() bounds every value toLayout derives; this is a safety net, not a code path.
            throw new InvalidDebugOffsetsException("implausible _Py_DebugOffsets of CPython " + version + ": "
                    + e.getMessage());
        }
    }

    private static Map<String, Long> read(MemorySegment s, List<Group> format) {
        Map<String, Long> v = new LinkedHashMap<>();
        long at = HEADER_BYTES;
        for (Group g : format) {
            if (g.sized()) {
                v.put(g.name() + ".size", s.get(U64, at));
                at += 8;
            }
            for (String m : g.members()) {
                v.put(g.name() + "." + m, s.get(U64, at));
                at += 8;
            }
        }
        return v;
    }

    private static void validate(Map<String, Long> v, List<Group> format, PythonVersion version)
            throws InvalidDebugOffsetsException {
        for (Group g : format) {
            if (!g.sized()) {
                continue;
            }
            long size = v.get(g.name() + ".size");
            boolean large = g.name().equals("runtime_state") || g.name().equals("interpreter_state");
            long max = large ? MAX_LARGE_STRUCT : MAX_STRUCT;
            if (size <= 0 || size >= max) {
                throw invalid(version, g.name() + ".size", size, "expected 1 .. " + (max - 1));
            }
            for (String m : g.members()) {
                String key = g.name() + "." + m;
                long off = v.get(key);
                if (NOT_OFFSETS_INTO_OWN_STRUCT.contains(key)) {
                    if (off < 0 || off >= MAX_LARGE_STRUCT) {
                        throw invalid(version, key, off, "expected 0 .. " + (MAX_LARGE_STRUCT - 1));
                    }
                } else if (off < 0 || off >= size) {
                    throw invalid(version, key, off, "must be below " + g.name() + ".size = " + size);
                }
            }
        }
        // Cross-checks that hold for every build since 3.0 (default, free-threaded, debug): they catch a
        // table read in the wrong format, where every value lands one or more slots off.
        long objectSize = v.get("pyobject.size");
        if (objectSize < 16 || objectSize > 64 || objectSize % 8 != 0) {
            throw invalid(version, "pyobject.size", objectSize, "expected 16 .. 64, a multiple of 8");
        }
        expectEqual(v, version, "pyobject.ob_type", objectSize - 8, "the last word of the PyObject header");
        expectEqual(v, version, "bytes_object.ob_size", objectSize, "PyVarObject.ob_size follows PyObject");
        expectEqual(v, version, "tuple_object.ob_size", objectSize, "PyVarObject.ob_size follows PyObject");
        expectEqual(v, version, "list_object.ob_size", objectSize, "PyVarObject.ob_size follows PyObject");
        expectEqual(v, version, "type_object.tp_name", objectSize + 8, "tp_name follows PyObject_VAR_HEAD");
        expectEqual(v, version, "unicode_object.length", objectSize, "PyASCIIObject.length follows PyObject");
        expectEqual(v, version, "unicode_object.size", v.get("unicode_object.asciiobject_size") + 24,
                "PyUnicodeObject = PyASCIIObject + utf8_length + utf8 + data (3.12+)");
        expectEqual(v, version, "thread_state.next", v.get("thread_state.prev") + 8, "next follows prev");
        if (format == FORMAT_3_15) {
            expectEqual(v, version, "type_object.tp_basicsize", v.get("type_object.tp_name") + 8,
                    "tp_basicsize follows tp_name");
            expectEqual(v, version, "unicode_object.compactunicodeobject_size",
                    v.get("unicode_object.asciiobject_size") + 16,
                    "PyCompactUnicodeObject = PyASCIIObject + utf8_length + utf8");
            expectEqual(v, version, "unicode_object.size", v.get("unicode_object.compactunicodeobject_size") + 8,
                    "PyUnicodeObject = PyCompactUnicodeObject + data");
            expectWithin(v, version, "heap_type_object.size", v.get("type_object.size") + 8, MAX_STRUCT,
                    "PyHeapTypeObject, which starts with a PyTypeObject");
            expectWithin(v, version, "heap_type_object.ht_cached_keys", v.get("type_object.size"),
                    v.get("heap_type_object.size"), "PyHeapTypeObject after its PyTypeObject");
        }
        // Values the layout derives from table entries must land inside their structs too.
        long gil = v.get("interpreter_state.gil_runtime_state");
        expectWithin(v, version, "interpreter_state.gil_runtime_state_holder", gil, gil + 4096, "_gil");
        expectWithin(v, version, "interpreter_state.gil_runtime_state_locked", gil, gil + 4096, "_gil");
        expectWithin(v, version, "runtime_state.interpreters_head", 0, v.get("runtime_state.size") - 8,
                "_PyRuntimeState with interpreters.main after it");
        expectWithin(v, version, "interpreter_state.threads_head", 0, v.get("interpreter_state.size") - 8,
                "PyInterpreterState with threads.main after it");
        expectWithin(v, version, "thread_state.datastack_chunk", 0, v.get("thread_state.size") - 16,
                "PyThreadState with datastack_top and datastack_limit after it");
        expectWithin(v, version, "interpreter_frame.instr_ptr", 0, v.get("interpreter_frame.size") - 8,
                "_PyInterpreterFrame with stacktop after it");
        expectWithin(v, version, "code_object.argcount", 4, v.get("code_object.size"),
                "PyCodeObject with co_flags before it");
    }

    private static void expectWithin(Map<String, Long> v, PythonVersion version, String key, long from, long to,
            String where) throws InvalidDebugOffsetsException {
        long actual = v.get(key);
        if (actual < from || actual >= to) {
            throw invalid(version, key, actual, "expected " + from + " .. " + (to - 1) + " (inside " + where + ")");
        }
    }

    private static void expectEqual(Map<String, Long> v, PythonVersion version, String key, long expected,
            String why) throws InvalidDebugOffsetsException {
        long actual = v.get(key);
        if (actual != expected) {
            throw invalid(version, key, actual, "expected " + expected + " (" + why + ")");
        }
    }

    private static InvalidDebugOffsetsException invalid(PythonVersion version, String key, long value,
            String expectation) {
        return new InvalidDebugOffsetsException("implausible _Py_DebugOffsets of CPython " + version + ": " + key
                + " = " + Long.toUnsignedString(value) + ", " + expectation
                + " (wrong _PyRuntime address, a torn read, or a table format this version of Spyglass does not know)");
    }

    private static String printable(byte[] bytes) {
        StringBuilder sb = new StringBuilder("\"");
        for (byte x : bytes) {
            int c = x & 0xff;
            if (c >= 0x20 && c < 0x7f) {
                sb.append((char) c);
            } else {
                sb.append(String.format("\\x%02x", c));
            }
        }
        return sb.append('"').toString();
    }
}
