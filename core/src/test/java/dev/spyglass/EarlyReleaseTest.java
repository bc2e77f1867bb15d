package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;

import dev.spyglass.internal.nativeframes.NativeStacks;
import dev.spyglass.internal.python.Target;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.NativeDemoExtension;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * Issue 11's stop time: threads held for native frames are let go right after the look's first read of
 * the target, when that one read holds everything the walk needs. On a thread going back and forth
 * between a C call and its Python callback (qsort calling {@code py_compare}), that needs the previous
 * looks' code objects read ahead too, and (3.11, 3.12) the evaluation loop's {@code _PyCFrame}, (3.12+)
 * its entry frame, taken from the held thread's stack copy: without either, a third or more of the looks
 * needed a second stop.
 */
@Execution(ExecutionMode.CONCURRENT)
class EarlyReleaseTest {

    @ForEachPython
    @ResourceLock(SamplerTest.CPU_BOUND)
    void heldThreadsAreLetGoAfterTheFirstReadInNearlyEveryLookOn(PythonInterpreter py) throws Exception {
        NativeDemoExtension ext = NativeDemoExtension.build(py);
        Path script = PythonScripts.write("native_sort.py", NativeDemoExtension.SORT_TARGET);
        try (PythonScripts.Running target = PythonScripts.startUnderShell(py, script, ext.directory().toString());
                Target t = Target.attach(target.pid());
                NativeStacks natives = new NativeStacks(t, false)) {
            for (int i = 0; i < 400; i++) {
                natives.readThreads(SamplingMode.WALL);
                Thread.sleep(2);
            }
            long early = natives.releasedEarly();
            long redone = natives.redone();
            long looks = early + redone;
            System.out.printf("%s: %d of %d looks let the threads go after the first read (%d taken again held)%n",
                    py.label(), early, looks, redone);
            if (!py.atLeast(3, 11)) {
                // Up to 3.10 every Python call has a heap frame object: never tried, so never a second stop.
                assertThat(looks).as("%s: looks released early or redone", py.label()).isZero();
                return;
            }
            // Nearly every look holds the sorting thread; under two CPU hogs one look of 400 on 3.12 held none (399:
            // 394 let go early, 5 taken again), which says nothing of the release. A systematic miss still fails.
            assertThat(looks).as("%s: looks that held a thread, of 400", py.label()).isGreaterThanOrEqualTo(380);
            // Torn instants (a thread stopped while CPython updates its frame chain) need a second read:
            // 0.0 - 1.6% of looks on 3.12 here. The bound leaves room for them, not for a systematic miss.
            assertThat(early).as("%s: looks released early, of %d (redone %d)", py.label(), looks, redone)
                    .isGreaterThanOrEqualTo(looks * 9 / 10);
            String status = Files.readString(Path.of("/proc", Long.toString(target.pid()), "status"));
            assertThat(status).as("the target is not left traced").contains("TracerPid:\t0");
        }
    }

    /**
     * A look a pause after the previous one (100 Hz) first reads, without stopping anything, what it will read while
     * the threads are held, so that the held read finds the caches warm ({@code NativeStacks.WARM_AFTER_NANOS}). That
     * read must leave the look as it was: the threads still let go after the first read, nearly every time.
     */
    @ForEachPython
    @ResourceLock(SamplerTest.CPU_BOUND)
    void aLookAfterAPauseReadsAheadOnceBeforeTheStopAndStillLetsGoEarlyOn(PythonInterpreter py) throws Exception {
        NativeDemoExtension ext = NativeDemoExtension.build(py);
        Path script = PythonScripts.write("native_sort.py", NativeDemoExtension.SORT_TARGET);
        try (PythonScripts.Running target = PythonScripts.startUnderShell(py, script, ext.directory().toString());
                Target t = Target.attach(target.pid());
                NativeStacks natives = new NativeStacks(t, false)) {
            int looks = 60;
            for (int i = 0; i < looks; i++) {
                natives.readThreads(SamplingMode.WALL);
                Thread.sleep(10);
            }
            long early = natives.releasedEarly();
            long redone = natives.redone();
            System.out.printf("%s: %d of %d looks after a 10 ms pause read ahead before the stop; %d let go early, %d"
                    + " taken again held%n", py.label(), natives.warmed(), looks, early, redone);
            assertThat(natives.warmed()).as("%s: looks that read ahead before the stop", py.label()).isEqualTo(looks);
            if (py.atLeast(3, 11)) {
                assertThat(early).as("%s: looks released early, of %d (redone %d)", py.label(), early + redone, redone)
                        .isGreaterThanOrEqualTo((early + redone) * 9 / 10).isPositive();
            }
        }
    }
}
