package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;

class StackSampleTest {
    private static final List<Frame> FRAMES = List.of(Frame.python("leaf", "Outer.leaf", "/app/x.py", 9, 8),
            Frame.python("<module>", "<module>", "/app/x.py", 30, 1));
    private static final ThreadStack THREAD = new ThreadStack(4242, 4243, 0x7f00_0000_1000L, "worker", 1,
            ThreadState.RUNNING, Boolean.TRUE, FRAMES);

    @Test
    void offersTheThreadsValuesDirectly() {
        StackSample s = new StackSample(THREAD, 1_763_760_000_000_000_000L, 10_000_000L);
        assertThat(s.thread()).isSameAs(THREAD);
        assertThat(s.pid()).isEqualTo(4242);
        assertThat(s.nativeThreadId()).isEqualTo(4243);
        assertThat(s.pythonThreadId()).isEqualTo(0x7f00_0000_1000L);
        assertThat(s.threadName()).isEqualTo("worker");
        assertThat(s.interpreterId()).isEqualTo(1);
        assertThat(s.state()).isEqualTo(ThreadState.RUNNING);
        assertThat(s.gilHeld()).isTrue();
        assertThat(s.frames()).isEqualTo(FRAMES);
        assertThat(s.timestampNanos()).isEqualTo(1_763_760_000_000_000_000L);
        assertThat(s.weightNanos()).isEqualTo(10_000_000L);
    }

    @Test
    void isAProfileEventOfItsProcess() {
        ProfileEvent e = new StackSample(THREAD, 17, 1);
        assertThat(e.pid()).isEqualTo(4242);
        assertThat(e.timestampNanos()).isEqualTo(17);
        String kind = switch (e) {
            case StackSample s -> "stack of " + s.threadName();
        };
        assertThat(kind).isEqualTo("stack of worker");
    }

    @Test
    void equalWhenThreadTimeAndWeightAreEqual() {
        ThreadStack sameThread = new ThreadStack(4242, 4243, 0x7f00_0000_1000L, "worker", 1, ThreadState.RUNNING,
                Boolean.TRUE, List.copyOf(FRAMES));
        StackSample s = new StackSample(THREAD, 17, 1);
        assertThat(s).isEqualTo(new StackSample(sameThread, 17, 1)).hasSameHashCodeAs(new StackSample(sameThread, 17, 1));
        assertThat(s).isNotEqualTo(new StackSample(THREAD, 18, 1)).isNotEqualTo(new StackSample(THREAD, 17, 2));
        ThreadStack otherState = new ThreadStack(4242, 4243, 0x7f00_0000_1000L, "worker", 1, ThreadState.IDLE,
                Boolean.TRUE, FRAMES);
        assertThat(s).isNotEqualTo(new StackSample(otherState, 17, 1));
    }

    @Test
    void needsAThread() {
        assertThatThrownBy(() -> new StackSample(null, 0, 0)).isInstanceOf(NullPointerException.class)
                .hasMessageContaining("thread");
    }
}
