package dev.spyglass.internal.nativeframes;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import dev.spyglass.PythonScripts;
import dev.spyglass.internal.os.ProcessMap;
import dev.spyglass.internal.os.RemoteMemory;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * Call-frame tables built on threads of their own (issue 12's slow first start): a look waits for an object
 * still being built, up to its longest wait; past that, a walk into it ends {@link NativeUnwinder#TABLE_PENDING}
 * without building anything on the caller's thread; once built, the same captured stack unwinds completely.
 * The builder is held behind a latch, so "not built yet" does not depend on the machine's speed.
 */
class BackgroundTablesTest {
    /** libc's path as mapped: libc.so.6, libc-2.x.so (not libcrypt). */
    private static final String LIBC = ".*/libc([.-].*)?\\.so.*";
    /** Says its PID, then sleeps in time.sleep. */
    private static final String SLEEPER = String.join("\n",
            "import os, sys, time",
            "sys.stdout.write('ready %d\\n' % os.getpid()); sys.stdout.flush()",
            "time.sleep(60)",
            "");

    @ForEachPython
    void aWalkIntoAnObjectStillBeingBuiltEndsPendingThenCompletesOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        NativeTargets.assumePtrace();
        Path script = PythonScripts.write("tablesleep.py", SLEEPER);
        try (PythonScripts.Running target = PythonScripts.startUnderShell(py, script)) {
            int pid = Integer.parseInt(target.readyLine().substring(6).trim());
            Thread.sleep(50); // into time.sleep
            ExecutorService builder = Executors.newSingleThreadExecutor();
            CountDownLatch held = new CountDownLatch(1);
            builder.submit(() -> {
                held.await();
                return null;
            });
            try (RemoteMemory memory = RemoteMemory.open(pid, ProcessMap.read(pid).firstReadableAddress());
                    NativeObjects objects = new NativeObjects(ProcessMap.read(pid))) {
                objects.buildInBackground(List.of(py.interpreterObject().toString()), builder, 0);
                try (ThreadStops stop = new ThreadStops(memory, pid, 256 * 1024, new StopTimeHistogram())) {
                    stop.stop(new int[] {pid}, 1);
                    stop.resume();
                    assertThat(stop.captured(0)).as("the thread stopped").isTrue();
                    NativeUnwinder unwinder = new NativeUnwinder(objects, 512);

                    NativeUnwinder.Result pending = unwinder.unwind(stop.rip(0), stop.rsp(0), stop.rbp(0), stop.stack(0),
                            stop.rsp(0));
                    assertThat(pending.outcome()).as("%s: %s", py.label(), pending.reason())
                            .isEqualTo(NativeUnwinder.Outcome.TRUNCATED);
                    assertThat(pending.reason()).as(py.label()).startsWith(NativeUnwinder.TABLE_PENDING);
                    assertThat(pending.depth()).as("the walk stops at the first frame it cannot unwind").isOne();
                    assertThat(objects.objectAt(stop.rip(0))).get().matches(NativeObjects.MappedObject::pending);

                    held.countDown();
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
                    NativeUnwinder.Result walk;
                    do {
                        Thread.sleep(10);
                        walk = unwinder.unwind(stop.rip(0), stop.rsp(0), stop.rbp(0), stop.stack(0), stop.rsp(0));
                    } while (walk.reason().startsWith(NativeUnwinder.TABLE_PENDING) && System.nanoTime() < deadline);
                    assertThat(walk.outcome()).as("%s, once built: %s", py.label(), walk.reason())
                            .isEqualTo(NativeUnwinder.Outcome.COMPLETE);
                    assertThat(walk.depth()).as(py.label()).isGreaterThan(3);
                    // The symbol index was built with the table: the walk's frames are named (not every one:
                    // a stripped libc's static functions have no symbol).
                    long named = java.util.Arrays.stream(walk.pcs(), 0, walk.depth()).filter(pc -> objects.find(pc)
                            .flatMap(o -> objects.symbolize(o, pc)).isPresent()).count();
                    assertThat(named).as("%s: named frames of %d", py.label(), walk.depth()).isGreaterThan(1);
                }
            }
            assertThat(builder.awaitTermination(10, TimeUnit.SECONDS)).as("close shuts the builder down").isTrue();
        }
    }

    /**
     * The objects every stack passes through (the interpreter's, libc) are built from {@code buildInBackground}
     * on, before any look asks for them: once the builder is idle, a look that may not wait finds them built.
     */
    @ForEachPython
    void theInterpretersObjectAndLibcAreBuiltBeforeAnyLookOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Path script = PythonScripts.write("tableahead.py", SLEEPER);
        try (PythonScripts.Running target = PythonScripts.start(py, script)) {
            int pid = Integer.parseInt(target.readyLine().substring(6).trim());
            ProcessMap map = ProcessMap.read(pid);
            ExecutorService builder = Executors.newSingleThreadExecutor();
            try (NativeObjects objects = new NativeObjects(map)) {
                objects.buildInBackground(List.of(py.interpreterObject().toString()), builder, 0);
                builder.submit(() -> null).get(120, TimeUnit.SECONDS); // after the builds queued so far
                for (ProcessMap.Mapping m : map.mappings()) {
                    boolean wanted = m.path().equals(py.interpreterObject().toString())
                            || m.path().matches(LIBC);
                    if (wanted && m.executable()) {
                        assertThat(objects.objectAt(m.start())).as("%s: %s", py.label(), m.path()).get()
                                .matches(o -> !o.pending() && o.table() != null, "built");
                    }
                }
            }
        }
    }

    /**
     * Closed before the builder got to any object: the queued builds never start and the builder's thread
     * ends; nothing is built on the closing thread.
     */
    @ForEachPython
    void closeWhileBuildsAreQueuedEndsTheBuilderOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Path script = PythonScripts.write("tableidle.py", SLEEPER);
        try (PythonScripts.Running target = PythonScripts.startUnderShell(py, script)) {
            int pid = Integer.parseInt(target.readyLine().substring(6).trim());
            ExecutorService builder = Executors.newSingleThreadExecutor();
            CountDownLatch started = new CountDownLatch(1);
            builder.submit(() -> {
                started.countDown();
                new CountDownLatch(1).await(); // held until interrupted by close
                return null;
            });
            NativeObjects objects = new NativeObjects(ProcessMap.read(pid));
            objects.buildInBackground(List.of(py.interpreterObject().toString()), builder, 0);
            assertThat(started.await(30, TimeUnit.SECONDS)).isTrue();
            ProcessMap.Mapping libc = ProcessMap.read(pid).mappings().stream()
                    .filter(m -> m.executable() && m.path().matches(LIBC)).findFirst().orElseThrow();
            assertThat(objects.objectAt(libc.start())).get().matches(NativeObjects.MappedObject::pending);
            objects.close();
            assertThat(builder.awaitTermination(10, TimeUnit.SECONDS)).as("the builder ends at close").isTrue();
            assertThat(builder.shutdownNow()).as("no build left queued").isEmpty();
        }
    }

    /**
     * A look waits for an object being built: it gets the object when the build ends within the wait; when the
     * build outlasts it, the object is pending, and later looks do not wait for it again.
     */
    @org.junit.jupiter.api.Test
    void aLookWaitsForABuildOnlyUpToItsLongestWait() throws Exception {
        PythonInterpreter py = dev.spyglass.testsupport.PythonInterpreters.assumeAny(3, 12);
        Path script = PythonScripts.write("tablewait.py", SLEEPER);
        try (PythonScripts.Running target = PythonScripts.startUnderShell(py, script)) {
            int pid = Integer.parseInt(target.readyLine().substring(6).trim());
            ProcessMap map = ProcessMap.read(pid);
            long libc = map.mappings().stream()
                    .filter(m -> m.executable() && m.path().matches(LIBC)).findFirst()
                    .orElseThrow().start();
            long interpreter = map.mappings().stream().filter(m -> m.executable()
                    && m.path().equals(py.interpreterObject().toString())).findFirst().orElseThrow().start();

            // Released while the look waits: the look gets the built object.
            ExecutorService builder = Executors.newSingleThreadExecutor();
            CountDownLatch held = new CountDownLatch(1);
            builder.submit(() -> {
                held.await();
                return null;
            });
            try (NativeObjects objects = new NativeObjects(map)) {
                objects.buildInBackground(List.of(), builder, TimeUnit.SECONDS.toNanos(120));
                Thread release = Thread.ofPlatform().start(() -> {
                    try {
                        Thread.sleep(200);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    held.countDown();
                });
                NativeObjects.MappedObject o = objects.objectAt(libc).orElseThrow();
                release.join();
                assertThat(o.pending()).as("waited for the build").isFalse();
                assertThat(o.table()).as("libc's table").isNotNull();
            }

            // Never released: the first look waits its longest wait, then the object is pending; the next look
            // does not wait again.
            ExecutorService stuck = Executors.newSingleThreadExecutor();
            stuck.submit(() -> {
                new CountDownLatch(1).await();
                return null;
            });
            long wait = TimeUnit.SECONDS.toNanos(3);
            try (NativeObjects objects = new NativeObjects(map)) {
                objects.buildInBackground(List.of(), stuck, wait);
                long t0 = System.nanoTime();
                assertThat(objects.objectAt(interpreter).orElseThrow().pending()).isTrue();
                long first = System.nanoTime() - t0;
                t0 = System.nanoTime();
                assertThat(objects.objectAt(interpreter).orElseThrow().pending()).isTrue();
                long second = System.nanoTime() - t0;
                assertThat(first).as("the first look waited").isGreaterThanOrEqualTo(wait);
                assertThat(second).as("the second look did not wait again").isLessThan(wait);
            }
            assertThat(stuck.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        }
    }
}
