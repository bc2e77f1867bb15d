package dev.spyglass.examples;

import java.io.PrintStream;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.concurrent.Callable;

import dev.spyglass.AsyncTask;
import dev.spyglass.Frame;
import dev.spyglass.PythonProcess;
import dev.spyglass.Sampler;
import dev.spyglass.SpyglassException;
import dev.spyglass.ThreadStack;
import dev.spyglass.UnsupportedPythonVersionException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code spyglass dump}: every thread's current stack, like {@code py-spy dump}. */
@Command(name = "dump", mixinStandardHelpOptions = true,
        description = "Prints every thread's current Python stack (innermost frame first), with names and states.")
final class DumpCommand implements Callable<Integer> {

    @Option(names = {"-p", "--pid"}, paramLabel = "PID", required = true, description = "The process to look at.")
    long pid;

    @Option(names = "--json", description = "One JSON document: the process and its threads (frames as in jsonl).")
    boolean json;

    @Option(names = "--native", arity = "0..1", fallbackValue = "brief-stop", paramLabel = "ENGINE",
            converter = NativeEngineOption.Converter.class, description = "Merge native (C) frames into the stacks. "
            + "ENGINE: " + NativeEngineOption.DESCRIPTION + " See docs/native-frames.md.")
    Sampler.NativeEngine nativeFrames;

    @Option(names = "--interpreter-frames", description = "With --native: keep the interpreter's own C frames.")
    boolean interpreterFrames;

    @Option(names = "--native-all", description = "--native, and also the threads that run no Python code "
            + "(brief-stop engine only).")
    boolean nativeAll;

    @Option(names = "--kernel", description = "Put the kernel's frames under each thread's stack (the system call "
            + "it waits in). Needs root. See docs/kernel-frames.md.")
    boolean kernelFrames;

    @Option(names = "--async", description = "Also print the asyncio tasks of each running event loop: names, "
            + "await chains, which task awaits which (CPython 3.8+). See docs/asyncio-tasks.md.")
    boolean asyncTasks;

    @picocli.CommandLine.Mixin
    ChildrenOption children = new ChildrenOption();

    private final PrintStream out;
    private final PrintStream err;
    /** With --children --json: the documents of the processes, printed as one array at the end. */
    private final List<String> documents = new java.util.ArrayList<>();

    DumpCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    @Override
    public Integer call() {
        if (pid <= 0) {
            err.println("spyglass dump: -p must be a process id (> 0), not " + pid);
            return Failures.USAGE;
        }
        if (kernelFrames && Sampler.kernelFramesRefusal().isPresent()) {
            err.println("spyglass dump: no kernel frames: " + Sampler.kernelFramesRefusal().get());
            kernelFrames = false;
        }
        if (nativeAll && nativeFrames == Sampler.NativeEngine.NON_STOP) {
            err.println("spyglass dump: --native-all needs the brief-stop engine, not --native=nonstop");
            return Failures.USAGE;
        }
        if (nativeFrames == Sampler.NativeEngine.NON_STOP && Sampler.nonStopNativeFramesRefusal().isPresent()) {
            err.println("spyglass dump: no native frames: " + Sampler.nonStopNativeFramesRefusal().get());
            nativeFrames = null;
        }
        int status = dump(pid);
        if (children.children && status == 0) {
            // Each CPython among the descendants, as they are now; the others (a shell, a helper) are passed over.
            int notPython = 0;
            int failed = 0;
            int shown = 1;
            for (long child : ChildrenOption.descendants(pid)) {
                try (PythonProcess probe = PythonProcess.attach(child)) {
                    probe.version();
                } catch (dev.spyglass.NotAPythonProcessException | dev.spyglass.ProcessGoneException e) {
                    notPython++;
                    continue;
                } catch (SpyglassException | RuntimeException e) {
                    failed++;
                    err.println("spyglass dump: child process " + child + " not shown: " + e.getMessage());
                    continue;
                }
                if (!json) {
                    out.println();
                }
                if (dump(child) == 0) {
                    shown++;
                } else {
                    failed++;
                }
            }
            err.println("spyglass dump: " + shown + " process(es) shown; " + notPython + " descendant(s) not Python" + (failed > 0 ? ", " + failed + " not shown" : ""));
        }
        if (json && children.children) {
            out.println("[" + String.join(",\n", documents) + "]");
        }
        return status;
    }

    /** Dumps one process: its status (0 when shown). */
    private int dump(long pid) {
        if (nativeFrames != null || nativeAll || kernelFrames) {
            try {
                TickSnapshot snap = TickSnapshot.take(pid, nativeFrames != null || nativeAll,
                        nativeFrames == null ? Sampler.NativeEngine.BRIEF_STOP : nativeFrames, interpreterFrames,
                        nativeAll, kernelFrames);
                print(pid, snap.version(), snap.threads(), snap.container(), null);
                if (snap.unmerged() > 0 && nativeFrames == Sampler.NativeEngine.NON_STOP) {
                    err.println("spyglass dump: " + snap.unmerged() + " thread(s) shown under <native frames unknown>: "
                            + "no snapshot of theirs could be proven of the moment their Python stack was read "
                            + "(they ran through Python code)");
                } else if (snap.unmerged() > 0) {
                    err.println("spyglass dump: " + snap.unmerged() + " thread(s) left out: their native and Python "
                            + "stacks did not agree at the moment they were read (run again)");
                }
                return 0;
            } catch (SpyglassException | RuntimeException e) {
                return Failures.report(e, err);
            }
        }
        try (PythonProcess py = PythonProcess.attach(pid)) {
            List<ThreadStack> threads = py.snapshot();
            List<AsyncTask> tasks = asyncTasks ? readTasks(py) : null;
            print(pid, py.version().toString(), threads, py.container().orElse(""), tasks);
            return 0;
        } catch (SpyglassException | RuntimeException e) {
            return Failures.report(e, err);
        }
    }

    /** @param tasks the asyncio tasks to print after the threads, or null for none (not asked, or unsupported) */
    private void print(long pid, String version, List<ThreadStack> threads, String container, List<AsyncTask> tasks) {
        List<String> command = ProcessCommandLine.of(pid);
        if (json && children.children) {
            documents.add(toJson(version, command, threads, container, tasks));
        } else if (json) {
            out.println(toJson(version, command, threads, container, tasks));
        } else {
            out.println("Process " + pid + ": " + TerminalText.escape(String.join(" ", command)));
            if (!container.isEmpty()) {
                out.println("Container " + container);
            }
            out.println("Python " + version);
            for (ThreadStack t : threads) {
                out.println();
                out.println("Thread " + (t.nativeThreadId() >= 0 ? t.nativeThreadId() : "?") + " \""
                        + TerminalText.escape(t.threadName()) + "\" " + t.state().name().toLowerCase(Locale.ROOT)
                        + (Boolean.TRUE.equals(t.gilHeld()) ? ", holds the GIL" : ""));
                if (t.frames().isEmpty()) {
                    out.println("    (no Python frames)");
                }
                for (Frame f : t.frames()) {
                    out.println("    " + TerminalText.escape(frameText(f)));
                }
            }
            if (tasks != null) {
                printTasks(tasks);
            }
        }
    }

    /** The asyncio tasks, or null after saying on stderr why this version has none. */
    private List<AsyncTask> readTasks(PythonProcess py) throws SpyglassException {
        try {
            return py.asyncTasks();
        } catch (UnsupportedPythonVersionException e) {
            err.println("spyglass dump: no asyncio tasks: " + e.getMessage());
            return null;
        }
    }

    /**
     * The asyncio tasks, thread by thread: {@code task "fetch-3" waiting, awaiting task "parse", awaited by task
     * "main"} and the task's await chain, innermost first. An older CPython gets its reason on stderr.
     */
    private void printTasks(List<AsyncTask> tasks) {
        out.println();
        if (tasks.isEmpty()) {
            out.println("No asyncio event loop is running (or asyncio is not imported).");
            return;
        }
        Map<Long, AsyncTask> byId = new HashMap<>();
        for (AsyncTask t : tasks) {
            byId.put(t.id(), t);
        }
        long thread = Long.MIN_VALUE;
        for (AsyncTask t : tasks) {
            if (t.nativeThreadId() != thread) {
                thread = t.nativeThreadId();
                out.println("asyncio tasks of thread " + (thread >= 0 ? thread : "?") + ":");
            }
            StringBuilder line = new StringBuilder("  task \"").append(TerminalText.escape(t.name())).append("\" ")
                    .append(t.running() ? "running" : "waiting");
            for (AsyncTask other : tasks) {
                if (other.awaitedBy().contains(t.id())) {
                    line.append(", awaiting task \"").append(TerminalText.escape(other.name())).append('"');
                }
            }
            for (long by : t.awaitedBy()) {
                AsyncTask awaiter = byId.get(by);
                if (awaiter != null) {
                    line.append(", awaited by task \"").append(TerminalText.escape(awaiter.name())).append('"');
                }
            }
            out.println(line);
            for (Frame f : t.frames()) {
                out.println("      " + TerminalText.escape(frameText(f)));
            }
        }
    }

    /**
     * {@code function (file:line)}; a native frame {@code function (library)}, the object's file name (it has no
     * line); a kernel frame {@code function [kernel]}; a pseudo-frame ({@code <interpreter shutdown>}) its label alone.
     */
    static String frameText(Frame f) {
        return switch (f.kind()) {
            case PYTHON -> f.qualifiedName() + " (" + f.file() + ":" + f.line() + ")";
            case NATIVE -> f.qualifiedName() + " (" + f.library() + ")";
            case KERNEL -> f.qualifiedName() + " " + Frame.KERNEL_FILE;
            case PSEUDO -> f.qualifiedName();
        };
    }

    static String toJson(String version, List<String> command, List<ThreadStack> threads) {
        return toJson(version, command, threads, "", null);
    }

    /**
     * With {@code "container"} after the pid when {@code container} is set, and with {@code tasks} non-null
     * {@code "tasks":[{id, name, tid, running, awaited_by[], frames[]}]}.
     */
    static String toJson(String version, List<String> command, List<ThreadStack> threads, String container,
            List<AsyncTask> tasks) {
        StringBuilder sb = new StringBuilder();
        sb.append("{\"pid\":").append(threads.isEmpty() ? -1 : threads.get(0).pid());
        if (!container.isEmpty()) {
            Json.string(sb.append(",\"container\":"), container);
        }
        sb.append(",\"python\":");
        Json.string(sb, version).append(",\"command\":[");
        for (int i = 0; i < command.size(); i++) {
            Json.string(sb.append(i == 0 ? "" : ","), command.get(i));
        }
        sb.append("],\"threads\":[");
        for (int i = 0; i < threads.size(); i++) {
            ThreadStack t = threads.get(i);
            sb.append(i == 0 ? "" : ",").append("{\"tid\":").append(t.nativeThreadId())
                    .append(",\"python_tid\":").append(t.pythonThreadId()).append(",\"thread\":");
            Json.string(sb, t.threadName()).append(",\"state\":\"").append(t.state().name().toLowerCase(Locale.ROOT))
                    .append("\",\"gil\":").append(t.gilHeld()).append(",\"frames\":");
            appendFrames(sb, t.frames()).append('}');
        }
        sb.append(']');
        if (tasks != null) {
            sb.append(",\"tasks\":[");
            for (int i = 0; i < tasks.size(); i++) {
                AsyncTask t = tasks.get(i);
                sb.append(i == 0 ? "" : ",").append("{\"id\":").append(t.id()).append(",\"name\":");
                Json.string(sb, t.name()).append(",\"tid\":").append(t.nativeThreadId()).append(",\"running\":")
                        .append(t.running()).append(",\"awaited_by\":[");
                for (int j = 0; j < t.awaitedBy().size(); j++) {
                    sb.append(j == 0 ? "" : ",").append(t.awaitedBy().get(j));
                }
                sb.append("],\"frames\":");
                appendFrames(sb, t.frames()).append('}');
            }
            sb.append(']');
        }
        return sb.append('}').toString();
    }

    private static StringBuilder appendFrames(StringBuilder sb, List<Frame> frames) {
        sb.append('[');
        for (int j = 0; j < frames.size(); j++) {
            Frame f = frames.get(j);
            sb.append(j == 0 ? "" : ",").append("{\"kind\":\"").append(f.kind().name().toLowerCase(Locale.ROOT))
                    .append("\",\"function\":");
            Json.string(sb, f.function()).append(",\"qualname\":");
            Json.string(sb, f.qualifiedName());
            if (f.kind() == Frame.FrameKind.NATIVE) {
                Json.string(sb.append(",\"library\":"), f.library());
            }
            sb.append(",\"file\":");
            Json.string(sb, f.file()).append(",\"line\":").append(f.line()).append('}');
        }
        return sb.append(']');
    }
}
