package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;

import dev.spyglass.elf.ElfFile;
import dev.spyglass.elf.Symbol;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * {@link LeakTracker#poll(java.util.function.Consumer)} on a target whose main thread, on command, makes 1,000
 * {@code bytes} objects of 300 bytes in {@code keep()} (each a block of {@code sys.getsizeof(b'x' * 300)} bytes from the
 * small-object allocator, a size no other object of the script has) and, on a second command, releases them all in
 * {@code drop()}: the events must show exactly those 1,000 allocations, on that thread, under {@code keep}, within
 * the command's time window, then the release of each of their addresses with its size.
 */
@Execution(ExecutionMode.CONCURRENT)
@ResourceLock(LeakTrackerTest.ALLOCATION_PROBES)
class AllocationEventTest {
    static final int COUNT = 1000;
    static final String SCRIPT = String.join("\n",
            "import os, sys, threading, time, tracemalloc",
            "if sys.argv[1] == 'hooked': tracemalloc.start(1)",
            "SIZE = sys.getsizeof(b'x' * 300)",
            "kept = []",
            "def mark(what):  # the test's signal: a file (the test support drains stdout)",
            "    open(sys.argv[2] + '.tmp', 'w').close()",
            "    os.rename(sys.argv[2] + '.tmp', sys.argv[2] + '.' + what)",
            "def keep(n):",
            "    # slowly, and staying here until told: the tracker's polls read this thread's stack inside keep()",
            "    for i in range(n):",
            "        kept.append(b'%03d' % (i % 1000) * 100)  # 300 bytes, a new object each time",
            "        time.sleep(0.001)",
            "    mark('kept')",
            "    sys.stdin.readline()",
            "def drop():",
            "    del kept[:]",
            "sys.stdout.write('ready %d %d %d\\n' % (os.getpid(), SIZE, threading.get_native_id()))",
            "sys.stdout.flush()",
            "for line in sys.stdin:",
            "    if line.startswith('keep'):",
            "        keep(" + COUNT + ")",
            "    elif line.startswith('drop'):",
            "        drop()",
            "    mark('done')",
            "");

    @ForEachPython
    void deliversEachAllocationAndReleaseOfAKnownPatternOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(py.atLeast(3, 8), "allocation probes: 3.8+");
        Assumptions.assumeFalse(py.freeThreaded(), "free-threaded builds allocate with mimalloc");
        Assumptions.assumeTrue(Sampler.pageFaultsRefusal().isEmpty(), "perf events not permitted here");
        boolean stripped;
        try (ElfFile elf = ElfFile.open(py.libpython().orElse(py.executable()))) {
            stripped = elf.symbol("_PyObject_Malloc").filter(Symbol::isDefined).isEmpty();
        }
        // A stripped LTO build (Debian's) is probed through its allocator table once hooked: tracemalloc hooks it.
        Path script = PythonScripts.write("pattern.py", SCRIPT);
        Path signal = Files.createTempFile("allocation-events", "");
        ProcessBuilder b = py.processBuilder(script.toString(), stripped ? "hooked" : "plain", signal.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD);
        try (PythonScripts.Running target = PythonScripts.awaitReady(py, b.start(), script);
                LeakTracker t = LeakTracker.attach(target.pid())) {
            String[] ready = target.readyLine().trim().split(" ");
            long size = Long.parseLong(ready[2]);
            int mainTid = Integer.parseInt(ready[3]);
            List<AllocationEvent> events = new ArrayList<>();
            long before = System.nanoTime();
            target.send("keep");
            pollUntil(t, events, signal, "kept");
            long after = System.nanoTime();
            t.poll(events::add);
            target.send("go");
            pollUntil(t, events, signal, "done");
            List<AllocationEvent> kept = events.stream().filter(e -> e.kind() == AllocationEvent.Kind.ALLOCATION
                    && e.size() == size && e.tid() == mainTid).toList();
            String figures = py.label() + ": " + t.probes() + "; " + events.size() + " events, " + kept.size()
                    + " of " + size + " B on the main thread, " + t.report().lostRecords() + " records lost";
            System.out.println(figures);
            Assumptions.assumeTrue(t.report().lostRecords() == 0, "records lost (load): " + figures);
            assertThat(kept).as(figures).hasSize(COUNT);
            Set<Long> addresses = new HashSet<>();
            for (AllocationEvent e : kept) {
                assertThat(e.address()).as(figures).isNotZero();
                assertThat(e.timeNanos()).as(figures).isBetween(before, after);
                assertThat(e.frames()).as(figures).extracting(Frame::function).contains("keep");
                addresses.add(e.address());
            }
            assertThat(addresses).as("distinct live blocks: " + figures).hasSize(COUNT);
            for (int i = 1; i < events.size(); i++) {
                assertThat(events.get(i).timeNanos()).as(figures).isGreaterThanOrEqualTo(events.get(i - 1).timeNanos());
            }

            events.clear();
            before = System.nanoTime();
            target.send("drop");
            pollUntil(t, events, signal, "done");
            after = System.nanoTime();
            t.poll(events::add);
            Set<Long> released = new HashSet<>();
            for (AllocationEvent e : events) {
                if (e.kind() == AllocationEvent.Kind.RELEASE && addresses.contains(e.address())) {
                    assertThat(e.size()).as(figures).isEqualTo(size);
                    assertThat(e.frames()).isEmpty();
                    assertThat(e.tid()).isEqualTo(mainTid);
                    assertThat(e.timeNanos()).isBetween(before, after);
                    released.add(e.address());
                }
            }
            assertThat(released).as(figures).hasSize(COUNT);
            target.send("end");
        } finally {
            Files.deleteIfExists(signal);
        }
    }

    /**
     * Polls every 5 ms until the target signals {@code what} (at most 60 s: a starved target skips the test), and
     * takes the signal back.
     */
    private static void pollUntil(LeakTracker t, List<AllocationEvent> events, Path signal, String what)
            throws Exception {
        Path file = Path.of(signal + "." + what);
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!Files.exists(file) && System.nanoTime() < deadline) {
            Thread.sleep(5);
            t.poll(events::add);
        }
        Assumptions.assumeTrue(Files.deleteIfExists(file), "the target did not signal '" + what
                + "' within 60 s (starved)");
    }
}
