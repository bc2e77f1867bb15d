package dev.spyglass.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * {@code dump --async} (attached) and {@code record --async} (launched) of an asyncio program whose named
 * tasks await each other: "fetch-3" awaits "parse" (busy between sleeps), the main task gathers "fetch-3"
 * and "idler" (waiting on an Event). 3.8+ shows the tasks; older versions say why in one line and still
 * show the Python stacks.
 */
// Its cases mostly wait for a CLI JVM and a target that sleeps between short bursts; no rate is asserted.
@Execution(ExecutionMode.CONCURRENT)
class AsyncTasksCliIT {
    static final String SCRIPT = String.join("\n",
            "import asyncio, os, sys",
            "def burn(n):",
            "    x = 0",
            "    for i in range(n):",
            "        x += i * i",
            "    return x",
            "async def parse():",
            "    while True:",
            "        await asyncio.sleep(0.005)",
            "        burn(200000)",
            "async def fetch():",
            "    await asyncio.create_task(parse(), name='parse')",
            "async def idle_waiter():",
            "    await asyncio.Event().wait()",
            "async def main():",
            "    tasks = [asyncio.create_task(fetch(), name='fetch-3'), asyncio.create_task(idle_waiter(), name='idler')]",
            "    await asyncio.sleep(0)",
            "    sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "    await asyncio.wait(tasks, timeout=float(sys.argv[1]))",
            "asyncio.run(main())",
            "");

    @TempDir
    Path dir;

    @ForEachPython
    void dumpAsyncPrintsTheTasksAndWhoAwaitsWhomOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(py.atLeast(3, 8), py.label() + ": task names (create_task(name=)) need 3.8");
        Path script = dir.resolve("tasks.py");
        Files.writeString(script, SCRIPT);
        Process target = py.processBuilder(script.toString(), "60").redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        try {
            BufferedReader in = new BufferedReader(new InputStreamReader(target.getInputStream(), StandardCharsets.UTF_8));
            assertThat(in.readLine()).isEqualTo("ready");
            SpyglassCliIT.Result r = SpyglassCliIT.run(SpyglassCliIT.cli("dump", "--async", "-p",
                    Long.toString(target.pid())), 60);
            assertThat(r.exit()).as(r.err()).isZero();
            assertThat(r.out()).as(r.err()).contains("Thread " + target.pid());
            if (!supported(py)) {
                assertThat(r.err()).contains("no asyncio tasks: asyncio task stacks need CPython 3.8 - 3.13");
                assertThat(r.out()).doesNotContain("task \"");
                return;
            }
            // Before 3.11 code objects have no qualified name: Event.wait is "wait". Before 3.14 the tasks come
            // in the order of a set's table, not of their creation: main's awaited tasks in either order.
            String eventWait = py.atLeast(3, 11) ? "Event.wait" : "wait";
            assertThat(r.out()).as(r.err()).contains("asyncio tasks of thread " + target.pid() + ":")
                    .containsPattern("task \"fetch-3\" (running|waiting), awaiting task \"parse\", awaited by task "
                            + "\"Task-1\"")
                    .containsPattern("task \"idler\" waiting, awaited by task \"Task-1\"\n\\s+" + eventWait
                            + " \\(.*locks.py")
                    .containsPattern("task \"parse\" (running|waiting), awaited by task \"fetch-3\"")
                    .containsPattern(py.atLeast(3, 14)
                            ? "task \"Task-1\" waiting, awaiting task \"fetch-3\", awaiting task \"idler\""
                            : "task \"Task-1\" waiting, awaiting task \"(fetch-3\", awaiting task \"idler|idler\", "
                                    + "awaiting task \"fetch-3)\"");
            SpyglassCliIT.Result j = SpyglassCliIT.run(SpyglassCliIT.cli("dump", "--async", "--json", "-p",
                    Long.toString(target.pid())), 60);
            assertThat(j.exit()).as(j.err()).isZero();
            com.fasterxml.jackson.databind.JsonNode doc = SpyglassCliIT.JSON.readTree(j.out());
            java.util.Map<String, com.fasterxml.jackson.databind.JsonNode> byName = new java.util.HashMap<>();
            doc.get("tasks").forEach(t -> byName.put(t.get("name").asText(), t));
            assertThat(byName).as(j.out()).containsKeys("Task-1", "fetch-3", "parse", "idler");
            assertThat(byName.get("parse").get("awaited_by").get(0).asLong()).isEqualTo(byName.get("fetch-3").get("id")
                    .asLong());
            assertThat(byName.get("idler").get("frames").get(0).get("qualname").asText()).isEqualTo(eventWait);
            assertThat(doc.get("threads").get(0).get("frames")).isNotEmpty();
        } finally {
            target.destroy();
        }
    }

    @ForEachPython
    void recordAsyncShowsTaskFramesOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(py.atLeast(3, 8), py.label() + ": task names (create_task(name=)) need 3.8");
        Path script = dir.resolve("tasks.py");
        Files.writeString(script, SCRIPT);
        Path out = dir.resolve("tasks.collapsed");
        List<String> cmd = new ArrayList<>(SpyglassCliIT.cli("record", "--async", "-i", "5ms", "--no-lines", "-o",
                out.toString(), "--"));
        cmd.addAll(py.commandLine(script.toString(), "3"));
        SpyglassCliIT.Result r = SpyglassCliIT.run(cmd, py.environment(), 90);
        assertThat(r.exit()).as(r.err()).isZero();
        String text = Files.readString(out);
        if (!supported(py)) {
            assertThat(r.err()).contains("no asyncio task stacks: they need CPython 3.8 or later");
            assertThat(text).doesNotContain("<task ").contains(";burn");
            return;
        }
        // Root first: the waiting task idler's own stack, and the running task's under the event loop.
        // Between main and idler's marker: asyncio.wait's own coroutines, main awaits idler through them.
        // Before 3.11 code objects have no qualified name: Event.wait is "wait", Handle._run "_run".
        boolean qualified = py.atLeast(3, 11);
        assertThat(text).as(r.err()).containsPattern("(?m);<task Task-1>;" + py("main") + "(;[^;]+)*;<task idler>;"
                + py("idle_waiter") + ";" + py(qualified ? "Event.wait" : "wait") + " \\d+$");
        Assumptions.assumeTrue(text.contains(";<task parse>;" + "parse"), "no sample caught parse on the CPU (load?)");
        assertThat(text).containsPattern("(?m);" + py(qualified ? "Handle._run" : "_run") + ";<task Task-1>;" + py("main")
                + "(;[^;]+)*;<task fetch-3>;" + py("fetch") + ";<task parse>;" + py("parse") + ";" + py("burn") + " \\d+$");
    }

    /** 3.8 - 3.13 read through sys.modules, 3.14+ through the _asyncio module's debug offsets; default builds. */
    private static boolean supported(PythonInterpreter py) {
        return py.atLeast(3, 8) && !py.freeThreaded();
    }

    /** A Python frame of the collapsed format without line numbers: {@code name (file)}. */
    private static String py(String name) {
        return java.util.regex.Pattern.quote(name) + " \\([^)]*\\)";
    }
}
