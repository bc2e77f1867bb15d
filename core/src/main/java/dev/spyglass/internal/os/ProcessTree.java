package dev.spyglass.internal.os;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@code /proc} tells about a process and its descendants, cheaply: its scheduler state, its executable and
 * its children (from {@code /proc/PID/task/TID/children}, Linux 3.5+ with {@code CONFIG_PROC_CHILDREN}, else a scan
 * of {@code /proc/*}/stat}). Used while a launched command starts, where every look must cost microseconds.
 */
public final class ProcessTree {
    /** Descendants beyond this many are not followed: a launched command is a shell or two and a Python. */
    private static final int MAX_DESCENDANTS = 64;

    private ProcessTree() {
    }

    /**
     * The process's state letter from {@code /proc/PID/stat} ({@code R}, {@code S}, {@code D}, {@code T} stopped,
     * {@code t} traced, {@code Z} zombie...), or {@code 0} when there is no such process.
     */
    public static char state(long pid) {
        String stat = stat(pid);
        int close = stat == null ? -1 : stat.lastIndexOf(')');
        return close < 0 || close + 2 >= stat.length() ? 0 : stat.charAt(close + 2);
    }

    /** {@code true} when the process exists and is neither a zombie nor dead. */
    public static boolean isAlive(long pid) {
        char s = state(pid);
        return s != 0 && s != 'Z' && s != 'X';
    }

    /** The path {@code /proc/PID/exe} names, or null when it cannot be read (gone, or a kernel thread). */
    public static String executable(long pid) {
        try {
            return Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "exe")).toString();
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }

    /**
     * Whether {@code /proc/PID/exe} is refused to this process (another user's process, a stricter
     * {@code ptrace_scope}), rather than gone (a process exiting has no executable to name any more).
     */
    public static boolean accessDenied(long pid) {
        try {
            Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "exe"));
            return false;
        } catch (java.nio.file.AccessDeniedException e) {
            return true;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** The text of {@code /proc/PID/maps}, or null when the process is gone or it cannot be read. */
    public static String mapsText(long pid) {
        try {
            return Files.readString(Path.of("/proc", Long.toString(pid), "maps"), StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            return null;
        }
    }

    /** The descendants of {@code pid}, children before grandchildren, at most {@value #MAX_DESCENDANTS}. */
    public static List<Long> descendants(long pid) {
        return descendants(pid, MAX_DESCENDANTS);
    }

    /** The descendants of {@code pid}, children before grandchildren, at most {@code max}. */
    public static List<Long> descendants(long pid, int max) {
        List<Long> out = new ArrayList<>();
        if (!Files.isDirectory(Path.of("/proc", Long.toString(pid), "task", Long.toString(pid)))) {
            return out;
        }
        boolean childrenFiles = Files.exists(Path.of("/proc", Long.toString(pid), "task", Long.toString(pid),
                "children"));
        List<long[]> all = childrenFiles ? null : parents();
        List<Long> queue = new ArrayList<>(List.of(pid));
        java.util.Set<Long> seen = new java.util.HashSet<>();
        for (int i = 0; i < queue.size() && out.size() < max; i++) {
            for (long child : childrenFiles ? children(queue.get(i)) : childrenOf(queue.get(i), all)) {
                if (out.size() < max && child != pid && seen.add(child)) {
                    out.add(child);
                    queue.add(child);
                }
            }
        }
        return out;
    }

    /**
     * The parent's process id and the start time (clock ticks after boot, which with the PID names one process for
     * its whole life) from {@code /proc/PID/stat}, or null when there is no such process.
     */
    public static long[] parentAndStartTime(long pid) {
        String stat = stat(pid);
        int close = stat == null ? -1 : stat.lastIndexOf(')');
        if (close < 0) {
            return null;
        }
        // After "pid (comm) ": state is field 3, ppid 4, starttime 22.
        String[] fields = stat.substring(Math.min(stat.length(), close + 2)).split(" ", 21);
        try {
            return fields.length < 21 ? null : new long[] {Long.parseLong(fields[1]), Long.parseLong(fields[19])};
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /**
     * The command line from {@code /proc/PID/cmdline}, its arguments joined by spaces and cut at {@code max}
     * characters; the kernel's name ({@code comm}) for a process without one; empty when it cannot be read.
     */
    public static String commandLine(long pid, int max) {
        try {
            byte[] raw = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
            int n = raw.length;
            while (n > 0 && raw[n - 1] == 0) {
                n--;
            }
            if (n == 0) {
                return Files.readString(Path.of("/proc", Long.toString(pid), "comm")).strip();
            }
            String text = new String(raw, 0, n, StandardCharsets.UTF_8).replace('\0', ' ');
            return text.length() <= max ? text : text.substring(0, max);
        } catch (IOException e) {
            return "";
        }
    }

    private static List<Long> children(long pid) {
        List<Long> out = new ArrayList<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path task : tasks) {
                for (String word : Files.readString(task.resolve("children")).trim().split(" ")) {
                    if (!word.isEmpty()) {
                        out.add(Long.parseLong(word));
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // Gone while listed: no children to follow.
        }
        return out;
    }

    private static List<Long> childrenOf(long pid, List<long[]> parents) {
        List<Long> out = new ArrayList<>();
        for (long[] p : parents) {
            if (p[1] == pid) {
                out.add(p[0]);
            }
        }
        return out;
    }

    /** (pid, parent pid) of every process, from {@code /proc/*}/stat}: for kernels without children files. */
    private static List<long[]> parents() {
        List<long[]> out = new ArrayList<>();
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), p -> p.getFileName().toString()
                .chars().allMatch(Character::isDigit))) {
            for (Path p : procs) {
                long pid = Long.parseLong(p.getFileName().toString());
                String stat = stat(pid);
                int close = stat == null ? -1 : stat.lastIndexOf(')');
                if (close > 0) {
                    String[] fields = stat.substring(close + 2).split(" ", 3);
                    if (fields.length >= 2) {
                        out.add(new long[] {pid, Long.parseLong(fields[1])});
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // /proc unreadable: nothing to follow.
        }
        return out;
    }

    private static String stat(long pid) {
        try {
            return Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            return null;
        }
    }
}
