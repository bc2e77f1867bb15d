package dev.spyglass.internal.python;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

import dev.spyglass.Frame;
import dev.spyglass.PythonScripts;
import dev.spyglass.SamplingMode;
import dev.spyglass.SnapshotTest;
import dev.spyglass.SpyglassException;
import dev.spyglass.internal.os.ProcessMap;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

@Execution(ExecutionMode.CONCURRENT)
class TargetTest {

    private static List<String> stackAtLeaf(Target t, String source) throws Exception {
        int leaf = PythonScripts.lineOf(source, "# LEAF");
        List<String> last = List.of();
        for (int i = 0; i < 200; i++) {
            int n = t.readThreads(SamplingMode.WALL);
            assertThat(n).isEqualTo(1);
            ThreadRecord r = t.thread(0);
            assertThat(r.torn()).as("torn: %s", r.tornReason()).isFalse();
            List<Frame> frames = r.frameList();
            last = SnapshotTest.describe(frames);
            if (!frames.isEmpty() && frames.get(0).line() == leaf) {
                break;
            }
            Thread.sleep(10);
        }
        return last;
    }

    @ForEachPython
    void findsTheInterpreterWithoutSymbolsOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        String source = PythonScripts.RECURSION.replace("DEPTH", "4");
        Path script = PythonScripts.write("stripped.py", source);
        try (PythonScripts.Running target = PythonScripts.start(py, script);
                Target t = Target.attach(target.pid(), new InterpreterLocator.Options(false))) {
            if (py.atLeast(3, 10)) {
                assertThat(t.interpreter().headSource()).isEqualTo(".PyRuntime section");
            } else {
                assertThat(t.interpreter().headSource()).isEqualTo("scan of writable data");
            }
            assertThat(stackAtLeaf(t, source)).containsExactlyElementsOf(SnapshotTest.expectedRecursion(script, source, 4));
        }
    }

    /**
     * Points the reader at random words of the target's writable memory as if each were the
     * interpreter list head: every look must end (bounded), throw nothing but SpyglassException, and
     * never report a frame the target does not have.
     */
    @ForEachPython
    void garbageInterpreterHeadsNeverInventFramesOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        String source = PythonScripts.RECURSION.replace("DEPTH", "4");
        Path script = PythonScripts.write("garbage.py", source);
        try (PythonScripts.Running target = PythonScripts.start(py, script);
                Target t = Target.attach(target.pid())) {
            Set<Frame> real = new HashSet<>();
            stackAtLeaf(t, source);
            real.addAll(t.thread(0).frameList());
            ProcessMap map = ProcessMap.read(target.pid());
            List<ProcessMap.Mapping> writable = new ArrayList<>();
            for (ProcessMap.Mapping m : map.mappings()) {
                if (m.readable() && m.writable() && !m.path().startsWith("[v")) {
                    writable.add(m);
                }
            }
            Random rnd = new Random(42);
            LocatedInterpreter loc = t.interpreter();
            int looks = 0;
            int withFrames = 0;
            long start = System.nanoTime();
            for (int i = 0; i < 300; i++) {
                ProcessMap.Mapping m = writable.get(rnd.nextInt(writable.size()));
                long addr = m.start() + ((rnd.nextLong(m.size()) & ~7L));
                LocatedInterpreter fake = new LocatedInterpreter(loc.objectPath(), loc.loadBias(), loc.version(),
                        loc.versionSource(), loc.layout(), 0, addr, "test", 0, loc.codeTypeAddress());
                try (StackReader reader = new StackReader(target.pid(), t.memory(), fake, null)) {
                    // Several looks each, so the later ones also take the speculative paths.
                    for (int look = 0; look < 3; look++) {
                        int n;
                        try {
                            n = reader.read(SamplingMode.WALL);
                        } catch (SpyglassException e) {
                            continue;
                        }
                        looks++;
                        for (int k = 0; k < n; k++) {
                            ThreadRecord r = reader.thread(k);
                            if (!r.torn() && r.depth() > 0) {
                                withFrames++;
                                assertThat(real).containsAll(r.frameList());
                            }
                        }
                    }
                }
            }
            assertThat(looks).isPositive();
            assertThat(System.nanoTime() - start).isLessThan(30_000_000_000L);
            assertThat(withFrames).isLessThan(900);
        }
    }
}
