package dev.spyglass.internal.python;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import dev.spyglass.SpyglassException;
import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.cpython.abi.MalformedObjectException;
import dev.spyglass.internal.os.MemoryFault;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * A task's name as {@code Task.get_name()} gives it: the {@code str} given to {@code create_task(name=)},
 * or for an unnamed task its counter, an {@code int} until first asked for (3.12+ format it lazily),
 * shown as {@code Task-N}. 3.11 stores the formatted {@code str} at creation. Not thread-safe.
 */
final class TaskNames {
    /** {@code Py_TPFLAGS_LONG_SUBCLASS}: an unnamed task's name is its counter, an int ({@code Task-N}). */
    private static final long TPFLAGS_LONG_SUBCLASS = 1L << 24;
    private static final long TPFLAGS_HEAPTYPE = 1L << 9;

    private final RemoteMemory memory;
    private final RemoteObjects objects;
    private final long typeAt;
    private final long flagsAt;
    /** {@code long_value.lv_tag} and {@code ob_digit} (3.12+), -1 before: 3.11's names are always str. */
    private final long longTag;
    private final long longDigits;
    private final MemorySegment small = Arena.ofAuto().allocate(64, 8);
    /** The address of the {@code str} type, once a name of that (static) type was read; 0 before. */
    private long strType;

    TaskNames(RemoteMemory memory, Layout layout, RemoteObjects objects) {
        this.memory = memory;
        this.objects = objects;
        this.typeAt = layout.require(Field.OBJECT_TYPE);
        this.flagsAt = layout.require(Field.TYPE_FLAGS);
        this.longTag = layout.has(Field.LONG_TAG) ? layout.offset(Field.LONG_TAG) : -1;
        this.longDigits = layout.has(Field.LONG_DIGITS) ? layout.offset(Field.LONG_DIGITS) : -1;
    }

    /** The name whose object is at {@code p}: a {@code str}, or the int of an unnamed task as {@code Task-N}. */
    String name(long p) throws MemoryFault, MalformedObjectException, SpyglassException {
        RemoteObjects.checkedPointer(p);
        long type = RemoteObjects.checkedPointer(memory.readLong(p + typeAt));
        if (type == strType) {
            // The str type's flags are known once seen: a named task's name costs the type word and the string.
            return objects.string(p);
        }
        long flags = memory.readLong(type + flagsAt);
        if ((flags & RemoteObjects.TPFLAGS_UNICODE_SUBCLASS) != 0) {
            String name = objects.string(p);
            if ((flags & TPFLAGS_HEAPTYPE) == 0) {
                strType = type; // a static type (str itself) is never freed, so its address stays its own
            }
            return name;
        }
        if ((flags & TPFLAGS_LONG_SUBCLASS) == 0 || longTag < 0) {
            throw new MalformedObjectException("task name 0x" + Long.toHexString(p) + " is neither str nor int");
        }
        MemorySegment b = small.asSlice(0, longDigits + 8);
        memory.read(p, b);
        long tag = b.get(ValueLayout.JAVA_LONG, longTag);
        long digits = tag >>> 3;
        if (digits > 2 || (tag & 3) == 2) {
            throw new MalformedObjectException("task counter 0x" + Long.toHexString(p) + " out of range");
        }
        long value = 0;
        for (int i = (int) digits - 1; i >= 0; i--) {
            long digit = b.get(ValueLayout.JAVA_INT, longDigits + 4L * i) & 0xffff_ffffL;
            if (digit >= 1L << 30) {
                // A freed task's name reused under the reader (seen on 3.15 with tasks created and finished
                // all the time): a digit of a real int has its two top bits clear.
                throw new MalformedObjectException("task counter 0x" + Long.toHexString(p) + " has digit 0x"
                        + Long.toHexString(digit));
            }
            value = (value << 30) | digit;
        }
        if (value == 0) {
            // The counter is incremented before its first use: no task is Task-0.
            throw new MalformedObjectException("task counter 0x" + Long.toHexString(p) + " is 0");
        }
        return "Task-" + value;
    }
}
