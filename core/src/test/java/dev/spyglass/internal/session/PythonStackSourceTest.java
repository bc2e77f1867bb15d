package dev.spyglass.internal.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.spyglass.ProfileEvent;
import dev.spyglass.PythonScripts;
import dev.spyglass.SamplingMode;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadState;
import dev.spyglass.internal.python.Target;
import dev.spyglass.testsupport.PythonInterpreter;
import dev.spyglass.testsupport.PythonInterpreters;

/** The Python stack source over a real interpreter whose one thread sleeps in a loop. */
class PythonStackSourceTest {

    /** Keeps what a source delivers, as a session's queue would. */
    private static final class Collected implements EventBuffer {
        final List<StackSample> samples = new ArrayList<>();
        int torn;

        @Override
        public void add(ProfileEvent event) {
            switch (event) {
                case StackSample s -> samples.add(s);
            }
        }

        @Override
        public void tornSample() {
            torn++;
        }

        @Override
        public void tornAtFirstRead(boolean recovered) {
        }
    }

    /**
     * The read a session takes before its clock starts reads the target but leaves the source as it was: the first
     * sample after it still weighs one interval, not the time since that read.
     */
    @Test
    void warmUpReadsTheTargetAndLeavesTheFirstWeightAlone() throws Exception {
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 12);
        Path script = PythonScripts.write("sleeper.py", PythonScripts.RECURSION.replace("DEPTH", "3"));
        try (PythonScripts.Running target = PythonScripts.start(py, script)) {
            PythonStackSource source = new PythonStackSource(Target.attach(target.pid()), 5_000_000L);
            try {
                assertThat(source.warmUp(SamplingMode.WALL)).isTrue();
                assertThat(source.warmUp(SamplingMode.PAGE_FAULTS)).as("no look of its own for page faults").isFalse();
                Collected wall = new Collected();
                for (int i = 0; i < 20 && wall.samples.isEmpty(); i++) {
                    source.poll(900_000_000L + i * 5_000_000L, SamplingMode.WALL, wall);
                }
                assertThat(wall.samples).isNotEmpty();
                assertThat(wall.samples.get(0).weightNanos()).isEqualTo(5_000_000L);
            } finally {
                source.close();
            }
        }
    }

    @Test
    void wallModeReportsTheSleepingThreadAndCpuModeSkipsIt() throws Exception {
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 12);
        Path script = PythonScripts.write("sleeper.py", PythonScripts.RECURSION.replace("DEPTH", "3"));
        try (PythonScripts.Running target = PythonScripts.start(py, script)) {
            PythonStackSource source = new PythonStackSource(Target.attach(target.pid()), 5_000_000L);
            try {
                Collected wall = new Collected();
                // Ticks 5 ms apart: the first sample weighs one interval, each later one the time since
                // the previous good sample (a torn sample's time goes to the next good one).
                for (int i = 0; i < 20; i++) {
                    source.poll(1_000L + i * 5_000_000L, SamplingMode.WALL, wall);
                }
                assertThat(wall.samples.size() + wall.torn).isEqualTo(20);
                assertThat(wall.samples).isNotEmpty().allSatisfy(s -> {
                    assertThat(s.pid()).isEqualTo(target.pid());
                    assertThat(s.nativeThreadId()).isEqualTo(target.pid());
                    assertThat(s.weightNanos()).isPositive().isLessThanOrEqualTo(20 * 5_000_000L);
                    assertThat(s.weightNanos() % 5_000_000L).isZero();
                    assertThat(s.frames()).isNotEmpty();
                });
                assertThat(wall.samples.get(0).timestampNanos()).isBetween(1_000L, 1_000L + 19 * 5_000_000L);
                assertThat(wall.samples.get(0).weightNanos()).isEqualTo(5_000_000L);
                StackSample lastWall = wall.samples.get(wall.samples.size() - 1);
                assertThat(wall.samples.stream().mapToLong(StackSample::weightNanos).sum())
                        .isEqualTo(lastWall.timestampNanos() - wall.samples.get(0).timestampNanos() + 5_000_000L);
                // An idle thread read again with nothing changed is the same value: no allocation for it.
                for (int i = 1; i < wall.samples.size(); i++) {
                    StackSample before = wall.samples.get(i - 1);
                    StackSample now = wall.samples.get(i);
                    if (now.thread().equals(before.thread())) {
                        assertThat(now.thread()).isSameAs(before.thread());
                    }
                }

                // The thread sleeps 50 ms at a time: at a tick it is almost never on a CPU.
                Collected cpu = new Collected();
                long waitedBefore = PythonScripts.runQueueWaitNanos(target.pid());
                for (int i = 0; i < 20; i++) {
                    source.poll(2_000L + i, SamplingMode.CPU, cpu);
                    Thread.sleep(2);
                }
                long waited = PythonScripts.runQueueWaitNanos(target.pid()) - waitedBefore;
                // On a loaded machine the woken sleeper waits for a CPU in state R, which CPU mode counts
                // as running (documented): a skip with the figure, not a failure (seen at load 10).
                org.junit.jupiter.api.Assumptions.assumeTrue(cpu.samples.size() <= 2 || waited < 4_000_000L,
                        () -> String.format("machine overloaded: the sleeper waited %.1f ms for a CPU in the "
                                + "CPU-mode window and was seen running %d times", waited / 1e6, cpu.samples.size()));
                assertThat(cpu.samples).as("samples of a sleeping thread in CPU mode").hasSizeLessThanOrEqualTo(2)
                        .allSatisfy(s -> assertThat(s.state()).isNotEqualTo(ThreadState.IDLE));
            } finally {
                source.close();
            }
        }
    }

    /**
     * A wall-mode weight is the time since the thread's previous sample, capped: a thread seen again
     * after a gap longer than 10 intervals or 1 s was not observed meanwhile (the sampler stopped).
     */
    @Test
    void wallModeWeighsTheTimeSinceTheThreadsPreviousSampleUpToTheCap() throws Exception {
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 12);
        Path script = PythonScripts.write("sleeper.py", PythonScripts.RECURSION.replace("DEPTH", "3"));
        long interval = 5_000_000L;
        try (PythonScripts.Running target = PythonScripts.start(py, script)) {
            PythonStackSource source = new PythonStackSource(Target.attach(target.pid()), interval);
            try {
                Collected wall = new Collected();
                long[] ticks = {10_000_000_000L, 10_005_000_000L, 10_017_000_000L, 70_000_000_000L, 70_000_001_000L};
                long[] expected = {interval, 5_000_000L, 12_000_000L, 1_000_000_000L, 1_000L};
                for (int i = 0; i < ticks.length; i++) {
                    int before = wall.samples.size();
                    int tornBefore = wall.torn;
                    // A torn read leaves no sample: read again at the same time, as a later tick would.
                    for (int tries = 0; wall.samples.size() == before && tries < 50; tries++) {
                        source.poll(ticks[i], SamplingMode.WALL, wall);
                    }
                    assertThat(wall.samples).as("a good read at tick %d (%d torn)", i, wall.torn - tornBefore)
                            .hasSize(before + 1);
                    assertThat(wall.samples.get(before).weightNanos()).as("weight at tick %d", i).isEqualTo(expected[i]);
                }
                assertThat(PythonStackSource.weightCapNanos(interval)).isEqualTo(1_000_000_000L);
                assertThat(PythonStackSource.weightCapNanos(1_000_000_000L)).isEqualTo(10_000_000_000L);
            } finally {
                source.close();
            }
        }
    }
}
