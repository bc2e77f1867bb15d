package dev.spyglass.internal.export;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

import dev.spyglass.StackSample;
import dev.spyglass.export.ThreadGrouping;
import dev.spyglass.internal.os.ProcessTree;

/**
 * The roots of an aggregating format: each thread's latest name (so a thread renamed while recorded, e.g.
 * {@code python3} until {@code threading} is imported and {@code MainThread} after, has one name for its whole
 * life), and the root each thread goes to under a {@link ThreadGrouping}. Not thread-safe.
 */
final class ThreadRoots {
    static final String ALL_THREADS = "all threads";
    /** A command line in a process label is cut here: the program and its script fit, long argument lists not. */
    private static final int COMMAND_CHARS = 120;

    private final ThreadGrouping grouping;
    private final Map<ThreadId, String> latestNames = new LinkedHashMap<>();
    /** Each process's command line, read when its first sample comes (while it surely lives). */
    private final Map<Long, String> commands = new HashMap<>();

    ThreadRoots(ThreadGrouping grouping) {
        this.grouping = grouping;
    }

    /** The sample's thread, remembering its name as the latest. */
    ThreadId observe(StackSample s) {
        ThreadId id = ThreadId.of(s);
        commands.computeIfAbsent(s.pid(), pid -> pid > 0 ? shortCommand(ProcessTree.commandLine(pid, 4096)) : "");
        String name = s.threadName();
        String before = latestNames.get(id);
        // Target names a thread thread-<ident> only when it knows no other name (its task is gone): a
        // name it had before says more. A LinkedHashMap keeps the order of first appearance on a put.
        if (before == null || !before.equals(name) && !isFallback(name)) {
            latestNames.put(id, name);
        }
        return id;
    }

    /**
     * The command line with its program by file name ({@code python3.12 /app/work.py --fast}), cut at
     * {@value #COMMAND_CHARS} characters: a label, where the script and its arguments say more than the
     * interpreter's directory.
     */
    static String shortCommand(String command) {
        int space = command.indexOf(' ');
        String program = space < 0 ? command : command.substring(0, space);
        String shorter = program.substring(program.lastIndexOf('/') + 1) + (space < 0 ? "" : command.substring(space));
        return shorter.length() <= COMMAND_CHARS ? shorter : shorter.substring(0, COMMAND_CHARS - 3) + "...";
    }

    /** {@code thread-<digits>}: the name of a thread without a registry or kernel name. */
    static boolean isFallback(String name) {
        if (!name.startsWith("thread-") || name.length() == "thread-".length()) {
            return false;
        }
        for (int i = "thread-".length(); i < name.length(); i++) {
            if (name.charAt(i) < '0' || name.charAt(i) > '9') {
                return false;
            }
        }
        return true;
    }

    /** The root of every thread observed, from the latest names. */
    Map<ThreadId, ThreadKey> roots() {
        Map<Object, Integer> members = new HashMap<>();
        for (Map.Entry<ThreadId, String> e : latestNames.entrySet()) {
            members.merge(groupOf(e.getKey(), e.getValue()), 1, Integer::sum);
        }
        Map<ThreadId, ThreadKey> roots = new HashMap<>();
        boolean severalProcesses = commands.size() > 1;
        for (Map.Entry<ThreadId, String> e : latestNames.entrySet()) {
            ThreadId id = e.getKey();
            String name = e.getValue();
            int n = members.get(groupOf(id, name));
            ThreadKey key = switch (grouping) {
                case EACH -> new ThreadKey(id.pid(), id.tid(), name);
                case NAME -> n == 1 ? new ThreadKey(id.pid(), id.tid(), name) : new ThreadKey(id.pid(), -1, name, n);
                case PATTERN -> n == 1 ? new ThreadKey(id.pid(), id.tid(), name)
                        : new ThreadKey(id.pid(), -1, pattern(name), n);
                case ALL -> new ThreadKey(id.pid(), -1, ALL_THREADS, n);
            };
            String command = severalProcesses ? commands.getOrDefault(id.pid(), "") : "";
            roots.put(id, command.isEmpty() ? key
                    : new ThreadKey(key.pid(), key.tid(), key.name(), key.threads(), command));
        }
        return roots;
    }

    private Object groupOf(ThreadId id, String name) {
        return switch (grouping) {
            case EACH -> id;
            case NAME -> new Group(id.pid(), name);
            case PATTERN -> new Group(id.pid(), pattern(name));
            case ALL -> new Group(id.pid(), null);
        };
    }

    private record Group(long pid, String name) {
    }

    /** The name with each run of ASCII digits replaced by {@code *}. */
    static String pattern(String name) {
        StringBuilder sb = null;
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c >= '0' && c <= '9') {
                if (sb == null) {
                    sb = new StringBuilder(name.length()).append(name, 0, i);
                }
                if (i == 0 || name.charAt(i - 1) < '0' || name.charAt(i - 1) > '9') {
                    sb.append('*');
                }
            } else if (sb != null) {
                sb.append(c);
            }
        }
        return sb == null ? name : sb.toString();
    }
}
