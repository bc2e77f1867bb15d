package dev.spyglass.internal.export;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A strict reader of Austin's text format, written from Austin's README grammar
 * ({@code P<pid>;T<iid>:<tid>[;[frame]]* [metric]}, {@code [frame] := <module>:<function>:<line number>}) and the
 * way austin-python splits it (metadata lines {@code # key: value}; a frame splits at its last two colons; the
 * metric follows the last space). Stricter than both: metadata only before and after the samples, integer
 * fields only, no empty frame, no blank line.
 */
final class AustinFormat {
    private static final Pattern METADATA = Pattern.compile("^# ([a-z_]+): (.+)$");
    private static final Pattern HEAD = Pattern.compile("^P([0-9]+);T([0-9]+):([0-9]+)$");

    record Frame(String file, String function, int line) {
    }

    record Sample(long pid, long iid, long tid, List<Frame> rootFirst, long metric) {
    }

    record Profile(Map<String, String> header, List<Sample> samples, Map<String, String> footer) {
    }

    private AustinFormat() {
    }

    static Profile parse(String text) {
        if (!text.endsWith("\n")) {
            throw new IllegalArgumentException("file does not end with a line break");
        }
        Map<String, String> header = new LinkedHashMap<>();
        Map<String, String> footer = new LinkedHashMap<>();
        List<Sample> samples = new ArrayList<>();
        int lineNo = 0;
        for (String line : text.substring(0, text.length() - 1).split("\n", -1)) {
            lineNo++;
            Matcher meta = METADATA.matcher(line);
            if (meta.matches()) {
                Map<String, String> target = samples.isEmpty() && footer.isEmpty() ? header : footer;
                if (target.put(meta.group(1), meta.group(2)) != null) {
                    throw new IllegalArgumentException("line " + lineNo + " repeats metadata " + meta.group(1));
                }
                continue;
            }
            if (!footer.isEmpty()) {
                throw new IllegalArgumentException("line " + lineNo + ": sample after the footer: " + line);
            }
            int space = line.lastIndexOf(' ');
            // Negative only in memory mode: Austin's -m writes a release of resident memory as a negative delta.
            String metricPattern = "memory".equals(header.get("mode")) ? "-?[0-9]+" : "[0-9]+";
            if (space < 0 || !line.substring(space + 1).matches(metricPattern)) {
                throw new IllegalArgumentException("line " + lineNo + " has no integer metric: " + line);
            }
            String[] parts = line.substring(0, space).split(";", -1);
            if (parts.length < 2) {
                throw new IllegalArgumentException("line " + lineNo + " lacks P<pid>;T<iid>:<tid>: " + line);
            }
            Matcher head = HEAD.matcher(parts[0] + ";" + parts[1]);
            if (!head.matches()) {
                throw new IllegalArgumentException("line " + lineNo + " has a bad process/thread head: " + line);
            }
            List<Frame> frames = new ArrayList<>();
            for (int i = 2; i < parts.length; i++) {
                String f = parts[i];
                int c2 = f.lastIndexOf(':');
                int c1 = c2 <= 0 ? -1 : f.lastIndexOf(':', c2 - 1);
                if (c1 < 0 || !f.substring(c2 + 1).matches("[0-9]+") || c2 - c1 < 2) {
                    throw new IllegalArgumentException("line " + lineNo + " has a bad frame '" + f + "'");
                }
                frames.add(new Frame(f.substring(0, c1), f.substring(c1 + 1, c2),
                        Integer.parseInt(f.substring(c2 + 1))));
            }
            samples.add(new Sample(Long.parseLong(head.group(1)), Long.parseLong(head.group(2)),
                    Long.parseLong(head.group(3)), frames, Long.parseLong(line.substring(space + 1))));
        }
        return new Profile(header, samples, footer);
    }
}
