package dev.spyglass.internal.python;

import java.util.Optional;

import dev.spyglass.cpython.abi.PythonVersion;

/**
 * Where the fields of {@code _asyncio}'s {@code TaskObj} are (CPython 3.8 – 3.13, default builds), for the
 * tasks read through {@code sys.modules} ({@link ModuleTaskReader}). 3.14+ publish them in the module's
 * {@code .AsyncioDebug} section ({@link AsyncioOffsets}); before, the struct is private to
 * Modules/_asynciomodule.c, so the offsets come from its definition per version: {@code FutureObj_HEAD(task)}
 * then the task's own fields. Checked against gdb on pyenv's {@code _asyncio} builds (DWARF) and at run time
 * against the live {@code _asyncio.Task} type ({@code tp_basicsize} must equal {@link #size}).
 *
 * @param size      {@code sizeof(TaskObj)}
 * @param loop      {@code task_loop} (the future's {@code fut_loop})
 * @param state     {@code task_state}, a {@code fut_state} enum ({@code STATE_PENDING} = 0)
 * @param futWaiter {@code task_fut_waiter}: the future the task waits on, or NULL
 * @param coro      {@code task_coro}
 * @param name      {@code task_name}: a {@code str} (3.11), or an {@code int} until formatted (3.12+)
 */
record TaskObjectLayout(long size, long loop, long state, long futWaiter, long coro, long name) {

    /** The layout of {@code version}'s {@code TaskObj}, or empty when not known (before 3.8, 3.14+). */
    static Optional<TaskObjectLayout> of(PythonVersion version) {
        if (version.freeThreaded()) {
            return Optional.empty(); // a 32-byte object header moves every field; no such build tested
        }
        // FutureObj_HEAD starts with loop, callback0, context0, callbacks (16 - 47) in every version; the
        // state and the task's own fields follow at offsets that grew with each version.
        if (version.is(3, 8)) {
            // 3.8: exception, result, source_tb, state (72), log_tb, blocking, dict, weakreflist; then
            // fut_waiter (104), coro, name (new in 3.8), context, must_cancel, log_destroy_pending: 144 bytes.
            return Optional.of(new TaskObjectLayout(144, 16, 72, 104, 112, 120));
        }
        if (version.is(3, 9)) {
            // 3.9 added cancel_msg before state (80) and a _PyErr_StackItem cancelled_exc_state (32 bytes)
            // after weakreflist: fut_waiter 144, coro 152, name 160; 184 bytes.
            return Optional.of(new TaskObjectLayout(184, 16, 80, 144, 152, 160));
        }
        if (version.is(3, 10)) {
            // 3.10 added exception_tb after exception: state 88, fut_waiter 152, coro 160, name 168; 192 bytes.
            return Optional.of(new TaskObjectLayout(192, 16, 88, 152, 160, 168));
        }
        if (version.is(3, 11) || version.is(3, 12)) {
            // 3.11, 3.12: FutureObj_HEAD = loop, callback0, context0, callbacks, exception, exception_tb,
            // result, source_tb, cancel_msg (16 - 87), state (88), log_tb, blocking, dict, weakreflist,
            // cancelled_exc (- 127); then fut_waiter, coro, name, context, must_cancel,
            // log_destroy_pending, num_cancels_requested: 176 bytes.
            return Optional.of(new TaskObjectLayout(176, 16, 88, 128, 136, 144));
        }
        if (version.is(3, 13)) {
            // 3.13 moved cancelled_exc up (88), packed log_tb, blocking, must_cancel and
            // log_destroy_pending into bit fields after state (96), and dropped the dict and weakreflist
            // slots (managed by the type flags): fut_waiter 112, coro 120, name 128, context: 144 bytes.
            return Optional.of(new TaskObjectLayout(144, 16, 96, 112, 120, 128));
        }
        return Optional.empty();
    }
}
