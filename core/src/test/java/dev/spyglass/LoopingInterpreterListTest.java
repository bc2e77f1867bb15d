package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Assumptions;

import dev.spyglass.cpython.abi.Field;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * An interpreter list that loops back on itself (garbage, or a torn read of a list being changed) is
 * walked once: every thread appears once, not once per pass up to the 256-interpreter bound. Made
 * lasting here by pointing the main interpreter's {@code next} at itself with ctypes.
 */
class LoopingInterpreterListTest {

    static final String SCRIPT = String.join("\n",
            "import ctypes, sys, threading, time",
            "get = ctypes.pythonapi.PyInterpreterState_Get",
            "get.restype = ctypes.c_void_p",
            "def sleeper():",
            "    time.sleep(1000)",
            "threading.Thread(target=sleeper, daemon=True).start()",
            "sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "next_off = int(sys.stdin.readline())",
            "interp = get()",
            "ctypes.c_uint64.from_address(interp + next_off).value = interp",
            "open(sys.argv[1], 'w').write('done')",
            "while True:",
            "    time.sleep(0.1)",
            "");

    @ForEachPython
    void aLoopingInterpreterListGivesEachThreadOnceOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(py.hexVersion() >= 0x03090000, "PyInterpreterState_Get is 3.9+");
        Path script = PythonScripts.write("looping_interp.py", SCRIPT);
        Path flag = script.resolveSibling("flag");
        try (PythonScripts.Running target = PythonScripts.start(py, script, flag.toString())) {
            target.send(Long.toString(target.layout().offset(Field.INTERP_NEXT)));
            Assumptions.assumeTrue(PythonScripts.awaitFile(flag), "target did not change its interpreter list");
            try (PythonProcess proc = PythonProcess.attach(target.pid())) {
                List<ThreadStack> threads = proc.snapshot();
                assertThat(threads).as("threads of a 2-thread target whose interpreter list loops").hasSize(2);
                assertThat(threads.stream().map(ThreadStack::nativeThreadId).distinct()).hasSize(2);
            }
        }
    }
}
