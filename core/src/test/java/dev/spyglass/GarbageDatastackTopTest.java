package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThatCode;

import java.nio.file.Path;

import org.junit.jupiter.api.Assumptions;

import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * A thread state whose datastack_top lies far above its datastack_chunk (what a look between the two
 * stores of CPython's push_chunk/_PyThreadState_PopFrame sees, here made lasting with ctypes on a
 * sleeping thread) must not make the reader allocate a buffer of that size at the next look.
 */
class GarbageDatastackTopTest {

    static final String SCRIPT = String.join("\n",
            "import ctypes, sys, threading, time",
            "get = ctypes.pythonapi.PyThreadState_Get",
            "get.restype = ctypes.c_void_p",
            "box = []",
            "ev = threading.Event()",
            "def sleeper():",
            "    box.append(get())",
            "    ev.set()",
            "    time.sleep(1000)  # SLEEP",
            "threading.Thread(target=sleeper, daemon=True).start()",
            "ev.wait()",
            "sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "chunk_off, top_off = map(int, sys.stdin.readline().split())",
            "ts = box[0]",
            "chunk = ctypes.c_uint64.from_address(ts + chunk_off).value",
            "ctypes.c_uint64.from_address(ts + top_off).value = chunk + (1 << 40)",
            "open(sys.argv[1], 'w').write('done')",
            "while True:",
            "    time.sleep(0.1)",
            "");

    @ForEachPython
    void garbageTopDoesNotAllocateOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(py.hexVersion() >= 0x030B0000, "data-stack chunks are 3.11+");
        Path script = PythonScripts.write("garbage_top.py", SCRIPT);
        Path flag = script.resolveSibling("flag");
        try (PythonScripts.Running target = PythonScripts.start(py, script, flag.toString())) {
            Layout layout = target.layout();
            target.send(layout.offset(Field.TSTATE_DATASTACK_CHUNK) + " " + layout.offset(Field.TSTATE_DATASTACK_TOP));
            Assumptions.assumeTrue(PythonScripts.awaitFile(flag), "target did not corrupt its thread state");
            try (PythonProcess proc = PythonProcess.attach(target.pid())) {
                for (int i = 0; i < 3; i++) {
                    assertThatCode(proc::snapshot).as("look %d", i).doesNotThrowAnyException();
                }
            }
        }
    }
}
