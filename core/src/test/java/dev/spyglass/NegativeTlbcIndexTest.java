package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThatCode;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Assumptions;

import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * 3.14t: a frame whose tlbc_index reads as a negative int (a torn read of a frame's memory) must give a
 * torn thread, never an ArrayIndexOutOfBoundsException out of snapshot()/the sampler, also once the
 * frame's code object has a cached per-thread bytecode start.
 */
class NegativeTlbcIndexTest {

    static final String SCRIPT = String.join("\n",
            "import ctypes, sys, threading, time",
            "box = []",
            "ev = threading.Event()",
            "def target_fn():",
            "    box.append(sys._getframe())",
            "    ev.set()",
            "    while True:",
            "        time.sleep(1000)",
            "threading.Thread(target=target_fn, daemon=True).start()",
            "ev.wait()",
            "sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "tlbc_off, f_frame_off = map(int, sys.stdin.readline().split())",
            "iframe = ctypes.c_uint64.from_address(id(box[0]) + f_frame_off).value",
            "idx = ctypes.c_int32.from_address(iframe + tlbc_off).value",
            "open(sys.argv[1], 'w').write(str(idx))",
            "sys.stdin.readline()",
            "ctypes.c_int32.from_address(iframe + tlbc_off).value = -1",
            "open(sys.argv[1] + '2', 'w').write('done')",
            "while True:",
            "    time.sleep(0.1)",
            "");

    static void await(Path p) throws Exception {
        PythonScripts.awaitFile(p);
        Thread.sleep(20);
    }

    @ForEachPython
    void negativeTlbcIndexTearsOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(py.freeThreaded() && py.hexVersion() >= 0x030E0000, "tlbc_index is 3.14t+");
        Path script = PythonScripts.write("tlbc.py", SCRIPT);
        Path flag = script.resolveSibling("flag");
        try (PythonScripts.Running target = PythonScripts.start(py, script, flag.toString())) {
            Layout layout = target.layout();
            Assumptions.assumeTrue(layout.has(Field.IFRAME_TLBC_INDEX), "no tlbc_index in the layout");
            target.send(layout.offset(Field.IFRAME_TLBC_INDEX) + " " + (layout.offset(Field.OBJECT_TYPE) + 16));
            await(flag);
            int idx = Integer.parseInt(Files.readString(flag).trim());
            try (PythonProcess proc = PythonProcess.attach(target.pid())) {
                assertThatCode(proc::snapshot).as("before").doesNotThrowAnyException();
                target.send("");
                await(Path.of(flag + "2"));
                assertThatCode(proc::snapshot).as("after tlbc_index = -1 (was %d)", idx).doesNotThrowAnyException();
            }
        }
    }
}
