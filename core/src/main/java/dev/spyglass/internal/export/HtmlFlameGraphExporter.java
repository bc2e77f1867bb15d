package dev.spyglass.internal.export;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.export.ProfileMetadata;

/**
 * One self-contained HTML file (no network access, no external script, style or font) holding an interactive
 * flame graph: the root at the top, each thread below it, then frames outward to the leaves (a node per process
 * between the root and the threads when several processes were sampled, and above those a node
 * {@code container 3f2a9c1b2d4e} when the target runs in a container). Boxes show
 * qualified function names; native frames (C functions, when native frames are sampled) are drawn in cool blues
 * and kernel frames (when kernel frames are sampled) in greens against the warm colours of Python code, with a
 * legend of the kinds present when there are any, native frames showing their library's name and kernel frames
 * {@code [kernel]};
 * hovering shows the file and line (a native frame's object path), the sample count and percentages, and the
 * share of them in which the thread had released the GIL (a Python frame whose samples mostly had it released
 * is striped: its time went to C code running without the GIL, e.g. numpy or I/O, or to waiting for it); clicking
 * zooms into a box (clicking an ancestor or pressing Escape zooms out); a search box highlights matching
 * frames and reports their share; a thread filter shows one thread; a header summarises the recording (target
 * command, Python version, duration, samples, achieved rate, torn-sample rate) from the
 * {@link ExporterBuilder#metadata(java.util.function.Supplier) metadata}. Samples without frames, and idle ones
 * unless kept, are left out. The file is written at {@link #close()}.
 */
public final class HtmlFlameGraphExporter extends StreamExporter {

    /** This format's name ({@link dev.spyglass.export.Exporter#formatName()}). */
    public static final String FORMAT_NAME = "html";

    private static final String TEMPLATE_RESOURCE = "flamegraph.html";
    private static final String DATA_PLACEHOLDER = "/*SPYGLASS_DATA*/null";
    private static final String TITLE_PLACEHOLDER = "<!--SPYGLASS_TITLE-->";

    private final StackCounts counts;
    private final String title;

    private HtmlFlameGraphExporter(OutputStream out, Builder options) {
        super(out, FORMAT_NAME, options);
        this.counts = new StackCounts(options.lineNumbers, options.threads);
        this.title = options.title;
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    void write(StackSample sample) {
        if (keepsForAggregate(sample)) {
            counts.add(sample);
        }
    }

    private static final class Node {
        final int name;
        final int loc;
        /** The page's mark of a frame's kind: 0 a Python frame, a thread or the root; 1 native; 2 pseudo; 3 kernel. */
        final int kind;
        long value;
        /** Of {@code value}, the samples whose thread had released the GIL. */
        long released;
        final Map<Object, Node> children = new LinkedHashMap<>();

        Node(int name, int loc, int kind) {
            this.name = name;
            this.loc = loc;
            this.kind = kind;
        }
    }

    private static int kindMark(Frame.FrameKind kind) {
        return switch (kind) {
            case PYTHON -> 0;
            case NATIVE -> 1;
            case PSEUDO -> 2;
            case KERNEL -> 3;
        };
    }

    private static final class Table {
        final Map<String, Integer> index = new HashMap<>();
        final List<String> values = new ArrayList<>();

        int id(String s) {
            return index.computeIfAbsent(s, k -> {
                values.add(k);
                return values.size() - 1;
            });
        }
    }

    @Override
    void finish() throws IOException {
        ProfileMetadata m = metadataNow();
        Table names = new Table();
        Table locs = new Table();
        Node root = new Node(names.id("all"), -1, 0);
        boolean severalProcesses = counts.tallies().keySet().stream().mapToLong(s -> s.thread().pid()).distinct()
                .count() > 1;
        boolean bytes = weighsBytes(m);
        String container = ThreadKey.containerLabel(m.container());
        for (Map.Entry<StackCounts.Stack, StackCounts.Tally> e : counts.tallies().entrySet()) {
            long n = bytes ? e.getValue().weightNanos : e.getValue().count;
            // The GIL view counts samples; a profile weighing bytes has none.
            long released = bytes ? 0 : e.getValue().gilReleased;
            ThreadKey thread = e.getKey().thread();
            root.value += n;
            root.released += released;
            Node node = root;
            if (!container.isEmpty()) {
                // The container above everything, as in the collapsed format: one node, the target's.
                node = root.children.computeIfAbsent(container, k -> new Node(names.id(container), -1, 0));
                node.value += n;
                node.released += released;
            }
            if (severalProcesses) {
                // A level per process above its threads: zoom into one process, or find it with the search box.
                node = node.children.computeIfAbsent(thread.processLabel(),
                        k -> new Node(names.id(thread.processLabel()), -1, 0));
                node.value += n;
                node.released += released;
            }
            node = node.children.computeIfAbsent(thread, k -> new Node(names.id(thread.label()), -1, 0));
            node.value += n;
            node.released += released;
            for (FrameKey f : e.getKey().rootFirst()) {
                Node parent = node;
                node = parent.children.computeIfAbsent(f, k -> new Node(names.id(f.name()),
                        f.file().isEmpty() && f.line() == 0 ? -1
                                : locs.id(f.line() > 0 ? f.file() + ":" + f.line() : f.file()),
                        kindMark(f.kind())));
                node.value += n;
                node.released += released;
            }
        }

        StringBuilder json = new StringBuilder(1 << 16);
        json.append("{\"meta\":");
        metaJson(json, m);
        json.append(",\"names\":[");
        appendStrings(json, names.values);
        json.append("],\"locs\":[");
        appendStrings(json, locs.values);
        json.append("],\"tree\":");
        treeJson(json, root);
        json.append('}');
        // Inside <script>, "</script" or "<!--" in a string would end or confuse the element: escape every '<'
        // (it only ever occurs inside JSON strings, where \u003c means the same).
        String data = json.toString().replace("<", "\\u003c");

        String page = template();
        String heading = title != null ? title : m.commandLine().isEmpty() ? "Spyglass flame graph"
                : "Spyglass: " + m.commandLine();
        page = page.replace(TITLE_PLACEHOLDER, escapeHtml(heading)).replace(DATA_PLACEHOLDER, data);
        out.write(page.getBytes(StandardCharsets.UTF_8));
    }

    private static void metaJson(StringBuilder sb, ProfileMetadata m) {
        sb.append("{\"command\":");
        JsonText.string(sb, m.commandLine());
        sb.append(",\"pid\":").append(m.pid() >= 0 ? Long.toString(m.pid()) : "null");
        if (!m.container().isEmpty()) {
            // Only when there is one, so a profile outside containers stays as it was.
            sb.append(",\"container\":");
            JsonText.string(sb, m.container());
        }
        sb.append(",\"python\":");
        JsonText.string(sb, m.pythonVersion());
        sb.append(",\"mode\":");
        JsonText.string(sb, m.mode());
        sb.append(",\"intervalNanos\":").append(m.interval().isZero() ? "null" : m.interval().toNanos());
        sb.append(",\"start\":");
        JsonText.string(sb, m.startEpochNanos() > 0 ? DateTimeFormatter.ISO_LOCAL_DATE_TIME
                .format(Instant.ofEpochSecond(0, m.startEpochNanos()).atOffset(ZoneOffset.UTC)
                        .withNano(0).toLocalDateTime()) + "Z" : "");
        sb.append(",\"durationNanos\":").append(m.duration().isZero() ? "null" : m.duration().toNanos());
        sb.append(",\"samples\":").append(m.samples() >= 0 ? Long.toString(m.samples()) : "null");
        sb.append(",\"torn\":").append(m.tornSamples() >= 0 ? Long.toString(m.tornSamples()) : "null");
        sb.append(",\"dropped\":").append(m.droppedSamples() >= 0 ? Long.toString(m.droppedSamples()) : "null");
        sb.append(",\"rate\":").append(JsonText.number(m.achievedRate()));
        sb.append(",\"tornRate\":").append(JsonText.number(m.tornRate()));
        sb.append(",\"producer\":");
        JsonText.string(sb, SpyglassVersion.PRODUCER);
        sb.append('}');
    }

    private static void appendStrings(StringBuilder sb, List<String> values) {
        for (int i = 0; i < values.size(); i++) {
            if (i > 0) {
                sb.append(',');
            }
            JsonText.string(sb, values.get(i));
        }
    }

    /**
     * {@code [name, loc, value, [children...]]}, children heaviest first, a fifth element, the kind mark, for a
     * native, pseudo or kernel frame (or when a sixth follows), and a sixth, the samples with the GIL released, when
     * there are any; iterative to survive deep stacks.
     */
    private static void treeJson(StringBuilder sb, Node root) {
        final class Open {
            final Node node;
            final List<Node> children;
            int next;

            Open(Node node) {
                this.node = node;
                sb.append('[').append(node.name).append(',').append(node.loc).append(',').append(node.value)
                        .append(",[");
                children = new ArrayList<>(node.children.values());
                children.sort((a, b) -> Long.compare(b.value, a.value));
            }
        }
        List<Open> stack = new ArrayList<>();
        stack.add(new Open(root));
        while (!stack.isEmpty()) {
            Open top = stack.get(stack.size() - 1);
            if (top.next < top.children.size()) {
                if (top.next > 0) {
                    sb.append(',');
                }
                stack.add(new Open(top.children.get(top.next++)));
            } else {
                sb.append(']');
                if (top.node.kind != 0 || top.node.released > 0) {
                    sb.append(',').append(top.node.kind);
                }
                if (top.node.released > 0) {
                    sb.append(',').append(top.node.released);
                }
                sb.append(']');
                stack.remove(stack.size() - 1);
            }
        }
    }

    private static String template() {
        try (InputStream in = HtmlFlameGraphExporter.class.getResourceAsStream(TEMPLATE_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("resource " + TEMPLATE_RESOURCE + " missing from the Spyglass jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String escapeHtml(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '&' -> sb.append("&amp;");
                case '"' -> sb.append("&quot;");
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }

    /** Options: page title, line numbers, idle threads, metadata (the summary header). */
    public static final class Builder extends ExporterBuilder<Builder, HtmlFlameGraphExporter> {
        private String title;

        private Builder() {
        }

        /** The page title and heading; default {@code Spyglass: <command>}. */
        public Builder title(String title) {
            this.title = java.util.Objects.requireNonNull(title, "title");
            return this;
        }

        @Override
        public HtmlFlameGraphExporter build(OutputStream out) {
            return new HtmlFlameGraphExporter(out, this);
        }
    }
}
