package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * A loop that makes cyclic garbage and collects it: on 3.9+ the samples taken while the collector runs
 * have {@code <GC>} innermost, over the Python line that called {@code gc.collect()}; earlier versions
 * (whose collector state Spyglass does not read) never show it.
 */
class GarbageCollectionTest {
    static final String SCRIPT = String.join("\n",
            "import gc, os, sys",
            "class Node(object):",
            "    pass",
            "def churn():",
            "    keep = [Node() for _ in range(200000)]  # a large heap makes each collection long",
            "    sys.stdout.write('ready %d\\n' % os.getpid()); sys.stdout.flush()",
            "    while True:",
            "        for _ in range(1000):",
            "            n = Node()  # ALLOCATE",
            "            n.me = n",
            "        gc.collect()  # COLLECT",
            "churn()",
            "");

    @ForEachPython
    void samplesDuringACollectionHaveTheGcFrameOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Path script = PythonScripts.write("gcloop.py", SCRIPT);
        try (PythonScripts.Running target = PythonScripts.start(py, script)) {
            List<StackSample> samples = new ArrayList<>();
            Sampler sampler = Sampler.builder().interval(Duration.ofMillis(2)).duration(Duration.ofMillis(800)).build();
            try (SamplingSession s = sampler.attach(target.pid())) {
                s.forEach(samples::add);
                assertThat(s.failure()).isEmpty();
            }
            List<StackSample> gc = samples.stream().filter(x -> x.frames().contains(Frame.GARBAGE_COLLECTION)).toList();
            String figures = py.label() + ": " + gc.size() + " of " + samples.size() + " samples with <GC>";
            System.out.println(figures);
            if (!py.atLeast(3, 9) || py.freeThreaded()) {
                assertThat(gc).as(figures).isEmpty();
                return;
            }
            assertThat(gc).as(figures).isNotEmpty();
            // gc.collect() there, or (3.9 - 3.12) an automatic collection that an allocation in the loop set off.
            int first = PythonScripts.lineOf(SCRIPT, "# ALLOCATE");
            int last = PythonScripts.lineOf(SCRIPT, "# COLLECT");
            for (StackSample x : gc) {
                assertThat(x.frames().get(0)).as(figures).isEqualTo(Frame.GARBAGE_COLLECTION);
                assertThat(x.frames().get(1).function()).as(x.frames().toString()).isEqualTo("churn");
                assertThat(x.frames().get(1).line()).as(x.frames().toString()).isBetween(first, last);
                assertThat(x.thread().gilHeld()).isTrue();
            }
        }
    }
}
