package dev.spyglass.internal.export;

import java.io.IOException;
import java.io.Writer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.spyglass.Frame;

/**
 * The tables the Firefox Profiler's processed format (version {@value GeckoProfileExporter#PROCESSED_VERSION})
 * shares between threads ({@code profile.shared}): strings, sources, resources, functions, frames and the stack
 * tree. A function is a frame without its line (kind, qualified name, file); a frame is a function at a line in a
 * category; a stack is a frame under a prefix stack, so parents always come before their children, as the
 * format's {@code prefixOffset} column requires. Not thread-safe.
 */
final class GeckoSharedTables {
    // Indexes into the category list written by writeCategories, in its order.
    static final int OTHER = 0;
    static final int PYTHON = 1;
    static final int NATIVE = 2;
    static final int KERNEL = 3;
    static final int IDLE = 4;
    static final int GC = 5;

    // ResourceType of profile.ts: a native object and the kernel are libraries; -1 is "no resource".
    private static final int RESOURCE_LIBRARY = 1;

    private final boolean lineNumbers;
    private final Map<String, Integer> stringIndex = new HashMap<>();
    private final List<String> strings = new ArrayList<>();
    private final Map<String, Integer> sourceIndex = new HashMap<>();
    private final List<Integer> sourceFile = new ArrayList<>();
    private final Map<String, Integer> resourceIndex = new HashMap<>();
    private final List<Integer> resourceName = new ArrayList<>();
    private final Map<FrameKey, Integer> funcIndex = new HashMap<>();
    private final List<int[]> funcs = new ArrayList<>(); // name, isJS, resource, source (-1), first line (0)
    private final Map<Long, Integer> frameIndex = new HashMap<>();
    private final List<int[]> frames = new ArrayList<>(); // func, line (0 = none), category
    private final Map<Long, Integer> stackIndex = new HashMap<>();
    private final List<int[]> stacks = new ArrayList<>(); // frame, prefix (-1 = root)
    private boolean nativeOrKernel;

    GeckoSharedTables(boolean lineNumbers) {
        this.lineNumbers = lineNumbers;
    }

    int string(String s) {
        return stringIndex.computeIfAbsent(s, k -> {
            strings.add(k);
            return strings.size() - 1;
        });
    }

    /** Whether a native or kernel frame was seen (the profile then has two stack types, Python and native). */
    boolean hasNativeOrKernelFrames() {
        return nativeOrKernel;
    }

    static int categoryOf(Frame f) {
        return switch (f.kind()) {
            case PYTHON -> PYTHON;
            case NATIVE -> NATIVE;
            case KERNEL -> KERNEL;
            case PSEUDO -> f.equals(Frame.GARBAGE_COLLECTION) ? GC : OTHER;
        };
    }

    /**
     * The stack of {@code innermostFirst} (non-empty). An idle sample's innermost frame gets the Idle category: the
     * function stays the same (the call tree merges by function) while the timeline paints the sample as idle.
     */
    int stack(List<Frame> innermostFirst, boolean idle) {
        int prefix = -1;
        for (int i = innermostFirst.size() - 1; i >= 0; i--) {
            Frame f = innermostFirst.get(i);
            int frame = frame(f, idle && i == 0 ? IDLE : categoryOf(f));
            long key = (long) (prefix + 1) << 32 | frame;
            int parent = prefix;
            prefix = stackIndex.computeIfAbsent(key, k -> {
                stacks.add(new int[] {frame, parent});
                return stacks.size() - 1;
            });
        }
        return prefix;
    }

    private int frame(Frame f, int category) {
        FrameKey key = FrameKey.of(f, lineNumbers);
        int func = func(f, key);
        // func, line and category packed into one key (category < 8, line < 2^31, func < 2^28): a frame is looked
        // up for every frame of every sample, so the key is not an object.
        long k = ((long) func << 32 | key.line()) << 3 | category;
        return frameIndex.computeIfAbsent(k, x -> {
            frames.add(new int[] {func, key.line(), category});
            return frames.size() - 1;
        });
    }

    private int func(Frame f, FrameKey withLine) {
        FrameKey key = new FrameKey(withLine.kind(), withLine.name(), withLine.file(), 0);
        return funcIndex.computeIfAbsent(key, k -> {
            int resource = -1;
            int source = -1;
            if (k.isNative() || k.isKernel()) {
                nativeOrKernel = true;
                String lib = k.isKernel() ? Frame.KERNEL_FILE : k.library();
                resource = lib.isEmpty() ? -1 : resourceIndex.computeIfAbsent(lib, l -> {
                    resourceName.add(string(l));
                    return resourceName.size() - 1;
                });
            } else if (!k.file().isEmpty()) {
                source = sourceIndex.computeIfAbsent(k.file(), file -> {
                    sourceFile.add(string(file));
                    return sourceFile.size() - 1;
                });
            }
            // The symbol alone: the profiler shows a func of a library resource as library!symbol
            // (libc.so.6!qsort, [kernel]!vfs_read).
            String name = k.name();
            // isJS marks Python functions: the profiler's "JavaScript" stack-type filter then shows the Python
            // frames alone, hiding the native and kernel ones between them.
            int isPython = k.kind() == Frame.FrameKind.PYTHON ? 1 : 0;
            funcs.add(new int[] {string(name), isPython, resource, source,
                    k.kind() == Frame.FrameKind.PYTHON ? Math.max(0, f.firstLine()) : 0});
            return funcs.size() - 1;
        });
    }

    /** {@code "categories":[...]}: the list the frame categories index, in the order of the constants. */
    static void writeCategories(StringBuilder sb) {
        sb.append("\"categories\":[");
        String[][] list = {{"Other", "grey"}, {"Python", "yellow"}, {"Native", "blue"}, {"Kernel", "orange"},
            {"Idle", "transparent"}, {"GC", "purple"}};
        for (int i = 0; i < list.length; i++) {
            sb.append(i == 0 ? "" : ",").append("{\"name\":\"").append(list[i][0]).append("\",\"color\":\"")
                    .append(list[i][1]).append("\",\"subcategories\":[\"Other\"]}");
        }
        sb.append(']');
    }

    /** {@code "shared":{...}}, every table with its columns of equal length. */
    void writeShared(StringBuilder sb, Writer w) throws IOException {
        sb.append("\"shared\":{\"stackTable\":{\"frame\":[");
        column(sb, w, stacks.size(), i -> Integer.toString(stacks.get(i)[0]));
        // prefixOffset (version 66+): 0 for a root, else how far back the parent is.
        sb.append("],\"prefixOffset\":[");
        column(sb, w, stacks.size(), i -> stacks.get(i)[1] < 0 ? "0" : Integer.toString(i - stacks.get(i)[1]));
        sb.append("],\"length\":").append(stacks.size()).append("},\"frameTable\":{");
        int n = frames.size();
        constant(sb, w, "address", n, "-1");
        constant(sb, w, "lib", n, "-1");
        constant(sb, w, "inlineDepth", n, "0");
        sb.append("\"category\":[");
        column(sb, w, n, i -> Integer.toString(frames.get(i)[2]));
        sb.append("],");
        constant(sb, w, "subcategory", n, "0");
        sb.append("\"func\":[");
        column(sb, w, n, i -> Integer.toString(frames.get(i)[0]));
        sb.append("],");
        constant(sb, w, "nativeSymbol", n, "null");
        constant(sb, w, "innerWindowID", n, "0");
        sb.append("\"line\":[");
        column(sb, w, n, i -> frames.get(i)[1] > 0 ? Integer.toString(frames.get(i)[1]) : "null");
        sb.append("],");
        constant(sb, w, "column", n, "null");
        constant(sb, w, "originalLocation", n, "null");
        sb.append("\"length\":").append(n).append("},\"funcTable\":{\"name\":[");
        int f = funcs.size();
        column(sb, w, f, i -> Integer.toString(funcs.get(i)[0]));
        sb.append("],\"isJS\":[");
        column(sb, w, f, i -> funcs.get(i)[1] == 1 ? "true" : "false");
        sb.append("],");
        constant(sb, w, "relevantForJS", f, "false");
        sb.append("\"resource\":[");
        column(sb, w, f, i -> Integer.toString(funcs.get(i)[2]));
        sb.append("],\"source\":[");
        column(sb, w, f, i -> funcs.get(i)[3] < 0 ? "null" : Integer.toString(funcs.get(i)[3]));
        sb.append("],\"lineNumber\":[");
        column(sb, w, f, i -> funcs.get(i)[4] > 0 ? Integer.toString(funcs.get(i)[4]) : "null");
        sb.append("],");
        constant(sb, w, "columnNumber", f, "null");
        constant(sb, w, "originalLocation", f, "null");
        sb.append("\"length\":").append(f).append("},\"resourceTable\":{\"length\":").append(resourceName.size())
                .append(",\"name\":[");
        column(sb, w, resourceName.size(), i -> Integer.toString(resourceName.get(i)));
        sb.append("],");
        constant(sb, w, "host", resourceName.size(), "null");
        constant(sb, w, "type", resourceName.size(), Integer.toString(RESOURCE_LIBRARY));
        sb.setLength(sb.length() - 1);
        sb.append("},\"nativeSymbols\":{\"libIndex\":[],\"address\":[],\"name\":[],\"functionSize\":[],\"length\":0}")
                .append(",\"sources\":{\"length\":").append(sourceFile.size()).append(',');
        int s = sourceFile.size();
        constant(sb, w, "id", s, "null");
        sb.append("\"filename\":[");
        column(sb, w, s, i -> Integer.toString(sourceFile.get(i)));
        sb.append("],");
        constant(sb, w, "startLine", s, "1");
        constant(sb, w, "startColumn", s, "1");
        constant(sb, w, "sourceMapURL", s, "null");
        constant(sb, w, "content", s, "null");
        sb.setLength(sb.length() - 1);
        sb.append("},\"sourceLocationTable\":{\"source\":[],\"line\":[],\"column\":[],\"length\":0}")
                .append(",\"stringArray\":[");
        for (int i = 0; i < strings.size(); i++) {
            JsonText.string(sb.append(i == 0 ? "" : ","), strings.get(i));
            flushIfLarge(sb, w);
        }
        sb.append("]}");
    }

    /** {@code "name":[v,v,...],} with {@code n} copies of {@code value}. */
    private static void constant(StringBuilder sb, Writer w, String name, int n, String value) throws IOException {
        sb.append('"').append(name).append("\":[");
        column(sb, w, n, i -> value);
        sb.append("],");
    }

    interface Cell {
        String at(int i);
    }

    static void column(StringBuilder sb, Writer w, int n, Cell cell) throws IOException {
        for (int i = 0; i < n; i++) {
            sb.append(i == 0 ? "" : ",").append(cell.at(i));
            flushIfLarge(sb, w);
        }
    }

    static void flushIfLarge(StringBuilder sb, Writer w) throws IOException {
        if (sb.length() > 1 << 15) {
            w.append(sb);
            sb.setLength(0);
        }
    }
}
