package dev.spyglass.internal.os;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

class TaskStatesTest {

    private static TaskStates.RunState parse(String stat) {
        byte[] b = stat.getBytes(StandardCharsets.UTF_8);
        return TaskStates.parseState(b, b.length);
    }

    @Test
    void readsTheStateAfterTheLastParenthesis() {
        assertThat(parse("123 (python3) R 1 2 3")).isEqualTo(TaskStates.RunState.RUNNING);
        assertThat(parse("123 (a) b) S 1 2 3")).isEqualTo(TaskStates.RunState.SLEEPING);
        assertThat(parse("123 (x (R) y) D 1")).isEqualTo(TaskStates.RunState.SLEEPING);
        assertThat(parse("123 (trunc")).isEqualTo(TaskStates.RunState.UNKNOWN);
    }

    @Test
    void seesThisThreadRunningAndKnowsItsName() {
        long pid = ProcessHandle.current().pid();
        try (TaskStates t = new TaskStates(pid)) {
            assertThat(t.relist()).isPositive();
            assertThat(t.exists(pid)).isTrue();
            assertThat(t.state(pid)).isIn(TaskStates.RunState.RUNNING, TaskStates.RunState.SLEEPING);
            assertThat(t.name(pid)).isNotBlank();
            assertThat(t.exists(Integer.MAX_VALUE)).isFalse();
        }
    }

    @Test
    void parsesNsPidOutermostFirst() {
        assertThat(TaskStates.parseNsIds("NSpid:\t27908\t1")).containsExactly(27908, 1);
        assertThat(TaskStates.parseNsIds("NSpid:\t42")).containsExactly(42);
    }

    @Test
    void aProcessInOurNamespaceNeedsNoTranslation() {
        long pid = ProcessHandle.current().pid();
        try (TaskStates t = new TaskStates(pid)) {
            assertThat(t.namespaced()).isFalse();
            assertThat(t.targetPid()).isEqualTo(pid);
            assertThat(t.hostTid(pid)).isEqualTo(pid);
        }
    }
}
