package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import dev.spyglass.testsupport.PythonInterpreter;

/**
 * Targets whose GIL is never contended, for tests of what Spyglass reads of the GIL ({@link GilModeTest}; not
 * GilReleasedViewTest, whose version on these targets failed on 3.11 - 3.13, see its history): one worker thread, a {@code spinner} (pure Python, holding the GIL) or a {@code reader}
 * ({@code readinto} of /dev/zero, which lets go of the GIL while the kernel fills the buffer), and a main thread
 * blocked in {@code os.read} of a pipe nobody writes.
 *
 * <p>Why not both workers in one process: they then hand the GIL to each other, and on a loaded 2-core machine a
 * thread preempted while it holds the GIL stays runnable with it for milliseconds (seen with two CPU hogs: the
 * reader was without it in only 109 of its 262 CPU-mode samples on 3.6). The samples truly say so, but then the
 * shares measure the scheduler. Uncontended, the spinner holds the GIL whether it runs or waits for a CPU, and the
 * reader holds it only for the bytecodes between two reads (microseconds in every 5 - 10 ms), whatever the load.
 */
final class GilTargets {
    /** Run with {@code spinner} or {@code reader} as its argument. */
    static final String SCRIPT = String.join("\n",
            "import io, os, sys, threading",
            "def spinner():",
            "    x = 0",
            "    while True:",
            "        x = (x + 1) % 1000",
            "def reader():",
            "    f, buf = io.FileIO('/dev/zero', 'r'), bytearray(64 << 20)",
            "    while True:",
            "        f.readinto(buf)  # the kernel fills 64 MiB; readinto releases the GIL meanwhile",
            "work = {'spinner': spinner, 'reader': reader}[sys.argv[1]]",
            "r, w = os.pipe()",
            "t = threading.Thread(target=work, name=work.__name__)",
            "t.daemon = True",
            "t.start()",
            "sys.stdout.write('ready %d\\n' % os.getpid()); sys.stdout.flush()",
            "os.read(r, 1)  # nothing comes: the main thread waits without the GIL and never asks for it again",
            "");

    /** x86-64's and AArch64's number of read(2), the first field of /proc/PID/task/TID/syscall while in it. */
    private static final String READ_SYSCALL = "aarch64".equals(System.getProperty("os.arch")) ? "63" : "0";

    private GilTargets() {
    }

    /**
     * Starts the {@code work} target ({@code spinner} or {@code reader}) and returns once its main thread is in the
     * read it never leaves: after printing its ready line it takes the GIL back (the worker then waits for it), so
     * a look before that could see the hand-over.
     */
    static PythonScripts.Running start(PythonInterpreter py, String work) throws IOException, InterruptedException {
        Path script = PythonScripts.write("gil_" + work + ".py", SCRIPT);
        PythonScripts.Running target = PythonScripts.start(py, script, work);
        boolean blocked = awaitMainThreadInRead(target.pid());
        if (!blocked) {
            target.close();
        }
        assertThat(blocked).as(py.label() + ": the " + work + " target's main thread in read(2) within 20 s").isTrue();
        return target;
    }

    private static boolean awaitMainThreadInRead(long pid) throws InterruptedException {
        Path syscall = Path.of("/proc", Long.toString(pid), "task", Long.toString(pid), "syscall");
        for (int i = 0; i < 2000; i++) {
            try {
                if (Files.readString(syscall).startsWith(READ_SYSCALL + " ")) {
                    return true;
                }
            } catch (IOException e) {
                // Not readable here (no ptrace access to the target): give the main thread time to get there.
                Thread.sleep(500);
                return true;
            }
            Thread.sleep(10);
        }
        return false;
    }
}
