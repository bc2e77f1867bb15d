package dev.spyglass.internal.python;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Random;

import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

import dev.spyglass.PythonScripts;
import dev.spyglass.SamplingMode;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.cpython.abi.StringDecoder;
import dev.spyglass.internal.os.ProcessMap;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * The registry reader fed garbage thread states (pointers into the middle of real objects, unmapped and
 * unaligned addresses, random words of the target's heap) returns no name and never throws; fed the real
 * ones, it names every threading thread.
 */
@Execution(ExecutionMode.CONCURRENT)
class ThreadNamesGarbageTest {

    @ForEachPython
    void garbageThreadStatesGiveNoNameAndNeverThrowOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Path script = PythonScripts.write("threads.py", PythonScripts.THREADS);
        try (PythonScripts.Running target = PythonScripts.start(py, script);
                Target t = Target.attach(target.pid())) {
            int n = t.readThreads(SamplingMode.WALL);
            Layout layout = t.interpreter().layout();
            ThreadNames names = new ThreadNames(t.pid(), t.memory(), layout, new StringDecoder(layout, 512));
            int named = 0;
            long[] tstates = new long[n];
            for (int i = 0; i < n; i++) {
                ThreadRecord r = t.thread(i);
                tstates[i] = r.tstate;
                if (names.name(r) != null) {
                    named++;
                }
            }
            assertThat(named).as("threads named from the registry").isEqualTo(5);

            ProcessMap map = ProcessMap.read(target.pid());
            Random random = new Random(py.label().hashCode());
            for (int k = 0; k < 300; k++) {
                // A fresh reader each time, so every attempt walks (no rate limit, nothing cached).
                ThreadNames fresh = new ThreadNames(t.pid(), t.memory(), layout, new StringDecoder(layout, 512));
                ThreadRecord bad = new ThreadRecord();
                bad.pythonThreadId = 1 + random.nextInt(1 << 20);
                long base = tstates[random.nextInt(n)];
                bad.tstate = switch (k % 5) {
                    case 0 -> base + 8L * (1 + random.nextInt(64));
                    case 1 -> random.nextLong();
                    case 2 -> 0x1000L + random.nextInt(1 << 16);
                    case 3 -> base + 1 + random.nextInt(7);
                    default -> map.firstReadableAddress() + 8L * random.nextInt(1 << 12);
                };
                // An ident no registry has: never a name, whatever the tstate points to.
                assertThat(fresh.name(bad)).isNull();
            }
        }
    }
}
