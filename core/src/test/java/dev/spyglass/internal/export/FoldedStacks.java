package dev.spyglass.internal.export;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A strict reader of Brendan Gregg's folded-stack format, written from its definition (stackcollapse output
 * read by flamegraph.pl: {@code frame;frame;... count} per line) and nothing else: every line must be a
 * non-empty stack, a single space and a non-negative integer; no frame may be empty; a stack appears once.
 */
final class FoldedStacks {
    private static final Pattern LINE = Pattern.compile("^([^\\n]+) ([0-9]+)$");

    private FoldedStacks() {
    }

    static Map<List<String>, Long> parse(String text) {
        if (!text.endsWith("\n")) {
            throw new IllegalArgumentException("file does not end with a line break");
        }
        Map<List<String>, Long> stacks = new LinkedHashMap<>();
        int lineNo = 0;
        for (String line : text.substring(0, text.length() - 1).split("\n", -1)) {
            lineNo++;
            Matcher m = LINE.matcher(line);
            if (!m.matches()) {
                throw new IllegalArgumentException("line " + lineNo + " is not 'stack count': " + line);
            }
            List<String> frames = List.of(m.group(1).split(";", -1));
            for (String f : frames) {
                if (f.isEmpty()) {
                    throw new IllegalArgumentException("line " + lineNo + " has an empty frame: " + line);
                }
            }
            if (stacks.put(frames, Long.parseLong(m.group(2))) != null) {
                throw new IllegalArgumentException("line " + lineNo + " repeats a stack: " + line);
            }
        }
        return stacks;
    }
}
