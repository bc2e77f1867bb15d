package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Assumptions;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * glibc hands a joined thread's pthread_t (Python's thread ident) to the next thread it starts. The
 * new thread must be reported under its own name, not the name cached for the ident's previous owner.
 */
class ReusedIdentNameTest {

    static final String SCRIPT = String.join("\n",
            "import sys, threading, time",
            "idents = []",
            "go = threading.Event()",
            "def first():",
            "    idents.append(threading.current_thread().ident)",
            "    go.wait()",
            "def second():",
            "    idents.append(threading.current_thread().ident)",
            "    while True:",
            "        time.sleep(0.05)",
            "t1 = threading.Thread(target=first, name='first-thread')",
            "t1.start()",
            "time.sleep(0.1)",
            "sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "sys.stdin.readline()",
            "go.set()",
            "t1.join()",
            "t2 = threading.Thread(target=second, name='second-thread')",
            "t2.daemon = True",
            "t2.start()",
            "while len(idents) < 2:",
            "    time.sleep(0.001)",
            "open(sys.argv[1], 'w').write('same' if idents[0] == idents[1] else 'different')",
            "while True:",
            "    time.sleep(0.05)",
            "");

    @ForEachPython
    void reusedIdentGetsItsOwnNameOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Path script = PythonScripts.write("reuse.py", SCRIPT);
        Path flag = script.resolveSibling("flag");
        try (PythonScripts.Running target = PythonScripts.start(py, script, flag.toString());
                PythonProcess proc = PythonProcess.attach(target.pid())) {
            List<String> before = proc.snapshot().stream().map(ThreadStack::threadName).toList();
            assertThat(before).contains("first-thread");
            target.send("");
            PythonScripts.awaitFile(flag);
            // Past ThreadNames' least gap between two reads of the registry (2 ms, at most 100 ms).
            Thread.sleep(150);
            Assumptions.assumeTrue("same".equals(Files.readString(flag)), "the new thread got a new ident");
            ThreadStack second = null;
            for (ThreadStack t : proc.snapshot()) {
                if (t.frames().stream().anyMatch(f -> f.function().equals("second"))) {
                    second = t;
                }
            }
            assertThat(second).as("the thread running second()").isNotNull();
            assertThat(second.threadName()).isEqualTo("second-thread");
        }
    }
}
