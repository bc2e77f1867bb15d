package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import dev.spyglass.elf.ElfFile;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * A loop that makes cyclic garbage and collects it: the samples taken while the collector runs have
 * {@code <GC>} innermost, over the Python line that called {@code gc.collect()}: 3.9+ through the
 * interpreter's state, 3.7.4 - 3.8 the runtime's, 2.7 and 3.6 the static {@code collecting} that
 * {@code .symtab} names (the provisioned 2.7/3.6 are unstripped pyenv builds). Free-threaded builds never
 * show it.
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
            "        for _ in range(1000):  # LOOP",
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
            boolean known = py.atLeast(3, 7) || hasCollectingSymbol(py);
            if (!known || py.freeThreaded()) {
                assertThat(gc).as(figures).isEmpty();
                return;
            }
            assertThat(gc).as(figures).isNotEmpty();
            // gc.collect() there, or (2.7 - 3.12) an automatic collection that an allocation in the loop set off.
            // The loop's header line too: 3.11 (pyenv 3.11.7, Debian 3.11.2) names it for some collections the
            // loop body's allocations set off, and 2.7's range() allocates a list there.
            int first = PythonScripts.lineOf(SCRIPT, "# LOOP");
            int last = PythonScripts.lineOf(SCRIPT, "# COLLECT");
            for (StackSample x : gc) {
                assertThat(x.frames().get(0)).as(figures).isEqualTo(Frame.GARBAGE_COLLECTION);
                assertThat(x.frames().get(1).function()).as(x.frames().toString()).isEqualTo("churn");
                assertThat(x.frames().get(1).line()).as(x.frames().toString()).isBetween(first, last);
                assertThat(x.thread().gilHeld()).isTrue();
            }
        }
    }

    /** Whether the interpreter's object names gcmodule.c's static {@code collecting} (2.7, 3.6). */
    private static boolean hasCollectingSymbol(PythonInterpreter py) throws Exception {
        try (ElfFile elf = ElfFile.open(py.interpreterObject())) {
            return elf.symbol("collecting").isPresent();
        }
    }
}
