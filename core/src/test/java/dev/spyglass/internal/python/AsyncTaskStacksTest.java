package dev.spyglass.internal.python;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.spyglass.AsyncTask;
import dev.spyglass.Frame;
import dev.spyglass.ThreadStack;
import dev.spyglass.ThreadState;

/**
 * How a look's tasks become sample stacks (the tasks as {@link AsyncTaskReader} hands them over), and the
 * checks on the {@code _asyncio} module's offsets before they are trusted. The reading itself is tested
 * against real interpreters in {@code AsyncTasksTest}.
 */
class AsyncTaskStacksTest {
    private static final Frame MODULE = Frame.python("<module>", "<module>", "app.py", 30);
    private static final Frame RUN_ONCE = Frame.python("_run_once", "BaseEventLoop._run_once", "base_events.py", 2026);
    private static final Frame HANDLE_RUN = Frame.python("_run", "Handle._run", "events.py", 94);
    private static final Frame PARSE = Frame.python("parse", "parse", "app.py", 12, 10);
    private static final Frame BURN = Frame.python("burn", "burn", "app.py", 5, 3);
    private static final Frame FETCH = Frame.python("fetch", "fetch", "app.py", 16, 14);
    private static final Frame MAIN = Frame.python("main", "main", "app.py", 24, 20);
    private static final Frame WAIT = Frame.python("wait", "Event.wait", "locks.py", 213, 200);
    private static final Frame IDLE = Frame.python("idle_waiter", "idle_waiter", "app.py", 19, 18);

    @Test
    void theRunningTaskGetsItsMarkerAndItsAwaitersChainsAboveTheLoop() {
        ThreadStack thread = stack(List.of(BURN, PARSE, HANDLE_RUN, RUN_ONCE, MODULE));
        List<AsyncTask> tasks = List.of(task(1, "Task-1", false, List.of(MAIN)),
                task(2, "fetch-3", false, List.of(FETCH), 1L), task(3, "parse", true, List.of(BURN, PARSE), 2L),
                task(4, "idler", false, List.of(WAIT, IDLE), 1L));
        List<ThreadStack> out = new ArrayList<>();
        AsyncTaskStacks.compose(tasks, thread, true, out::add);

        assertThat(out).hasSize(2);
        assertThat(out.get(0).frames()).containsExactly(BURN, PARSE, Frame.asyncTask("parse"), FETCH,
                Frame.asyncTask("fetch-3"), MAIN, Frame.asyncTask("Task-1"), HANDLE_RUN, RUN_ONCE, MODULE);
        // The waiting leaf: its await point out to its marker, then main's chain; no loop frames.
        assertThat(out.get(1).frames()).containsExactly(WAIT, IDLE, Frame.asyncTask("idler"), MAIN,
                Frame.asyncTask("Task-1"));
        assertThat(out.get(1).nativeThreadId()).isEqualTo(thread.nativeThreadId());
    }

    @Test
    void cpuModeTakesOnlyTheThreadsSample() {
        ThreadStack thread = stack(List.of(BURN, PARSE, HANDLE_RUN, MODULE));
        List<AsyncTask> tasks = List.of(task(3, "parse", true, List.of(PARSE)),
                task(4, "idler", false, List.of(WAIT, IDLE)));
        List<ThreadStack> out = new ArrayList<>();
        AsyncTaskStacks.compose(tasks, thread, false, out::add);
        assertThat(out).hasSize(1);
        assertThat(out.get(0).frames()).containsExactly(BURN, PARSE, Frame.asyncTask("parse"), HANDLE_RUN, MODULE);
    }

    @Test
    void aRunningTaskWhoseCoroutineIsNotOnTheStackLeavesTheStackAsRead() {
        ThreadStack thread = stack(List.of(RUN_ONCE, MODULE));
        List<ThreadStack> out = new ArrayList<>();
        AsyncTaskStacks.compose(List.of(task(3, "parse", true, List.of(PARSE))), thread, true, out::add);
        assertThat(out).containsExactly(thread);
    }

    @Test
    void awaitersInACircleStopAfterEachTaskOnce() {
        // Two tasks awaiting each other (a torn read, or a program that deadlocked itself): bounded.
        ThreadStack thread = stack(List.of(BURN, PARSE, MODULE));
        List<AsyncTask> tasks = List.of(task(1, "a", true, List.of(PARSE), 2L), task(2, "b", false, List.of(FETCH), 1L));
        List<ThreadStack> out = new ArrayList<>();
        AsyncTaskStacks.compose(tasks, thread, true, out::add);
        assertThat(out).hasSize(1);
        assertThat(out.get(0).frames()).containsExactly(BURN, PARSE, Frame.asyncTask("a"), FETCH, Frame.asyncTask("b"),
                PARSE, Frame.asyncTask("a"), MODULE);
    }

    @Test
    void offsetsOutsideTheirStructsAreNotATaskLayout() {
        // Debian 3.14.10's values: accepted.
        long[] good = {168, 136, 96, 108, 109, 128, 152, 225864, 10880, 936, 864, 872, 880};
        assertThat(AsyncioOffsets.of(good, "test").taskNode()).isEqualTo(152);
        long[] nameOutside = good.clone();
        nameOutside[1] = 400;
        assertThatThrownBy(() -> AsyncioOffsets.of(nameOutside, "test")).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("not a task layout");
        long[] hugeTask = good.clone();
        hugeTask[0] = 1L << 40;
        assertThatThrownBy(() -> AsyncioOffsets.of(hugeTask, "test")).isInstanceOf(IllegalStateException.class);
        long[] unaligned = good.clone();
        unaligned[10] = 865;
        assertThatThrownBy(() -> AsyncioOffsets.of(unaligned, "test")).isInstanceOf(IllegalStateException.class);
    }

    private static ThreadStack stack(List<Frame> frames) {
        return new ThreadStack(4242, 4242, 1, "MainThread", 0, ThreadState.RUNNING, Boolean.TRUE, frames);
    }

    private static AsyncTask task(long id, String name, boolean running, List<Frame> frames, Long... awaitedBy) {
        return new AsyncTask(id, name, 4242, running, frames, List.of(awaitedBy));
    }
}
