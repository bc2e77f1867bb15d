package dev.spyglass.elf;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * GNU readelf's interpreted call-frame tables ({@code --debug-dump=frames-interp}) as the oracle of
 * {@link UnwindTable}: per CIE its initial row, per FDE its address range and rows (column values as
 * readelf prints them: {@code rsp+16}, {@code exp}, {@code c-8}, {@code u}).
 */
final class ReadelfFrames {
    private static final Pattern CIE = Pattern.compile("^([0-9a-f]+) [0-9a-f]+ [0-9a-f]+ CIE \"");
    private static final Pattern FDE = Pattern.compile(
            "^([0-9a-f]+) [0-9a-f]+ [0-9a-f]+ FDE cie=([0-9a-f]+) pc=([0-9a-f]+)\\.\\.([0-9a-f]+)");
    private static final Pattern COLUMNS = Pattern.compile("^\\s+LOC\\s+CFA\\s+(.*)$");
    private static final Pattern VALUE = Pattern.compile("\\S+ \\([^)]*\\)|\\S+");
    private static final Pattern ROW = Pattern.compile("^([0-9a-f]{8,16}) (\\S+)\\s*(.*)$");

    /** One row: its address and its values by column ("cfa", "ra", "rbp", ...); a missing column is "u". */
    record Row(long loc, Map<String, String> values) {
        String get(String column) {
            return values.getOrDefault(column, "u");
        }
    }

    record Fde(long offset, long cie, long pcBegin, long pcEnd, List<Row> rows) {
    }

    record Frames(Map<Long, Row> cieInitialRows, List<Fde> fdes) {
    }

    private ReadelfFrames() {
    }

    static Frames read(Path file) throws IOException, InterruptedException {
        String out = Readelf.run(file, "-W", "--debug-dump=frames-interp");
        Map<Long, Row> cies = new HashMap<>();
        List<Fde> fdes = new ArrayList<>();
        long currentCie = -1;
        Fde currentFde = null;
        String[] columns = new String[0];
        boolean inEhFrame = false;
        boolean seenEhFrame = false;
        for (String line : out.split("\n")) {
            if (line.startsWith("Contents of the ") || line.startsWith("section '")) {
                // Only the file's own .eh_frame: a .debug_frame describes the same code again, and readelf
                // goes on into the separate debug file (whose .eh_frame has no bytes).
                inEhFrame = !seenEhFrame && line.startsWith("Contents of the .eh_frame section");
                seenEhFrame |= inEhFrame;
                continue;
            }
            if (line.contains(" ZERO terminator")) {
                currentFde = null;
                currentCie = -1;
                continue;
            }
            if (!inEhFrame) {
                continue;
            }
            Matcher m;
            if ((m = CIE.matcher(line)).find()) {
                currentCie = Long.parseLong(m.group(1), 16);
                currentFde = null;
            } else if ((m = FDE.matcher(line)).find()) {
                currentCie = -1;
                currentFde = new Fde(Long.parseLong(m.group(1), 16), Long.parseLong(m.group(2), 16),
                        Long.parseUnsignedLong(m.group(3), 16), Long.parseUnsignedLong(m.group(4), 16), new ArrayList<>());
                fdes.add(currentFde);
            } else if ((m = COLUMNS.matcher(line)).find()) {
                columns = m.group(1).trim().split("\\s+");
            } else if ((m = ROW.matcher(line)).find() && (currentFde != null || currentCie >= 0)) {
                Map<String, String> values = new HashMap<>();
                values.put("cfa", m.group(2));
                // A register rule prints as "r9 (r9)": one value with a space in it.
                Matcher v = VALUE.matcher(m.group(3));
                for (int i = 0; i < columns.length && v.find(); i++) {
                    values.put(columns[i], v.group());
                }
                Row row = new Row(Long.parseUnsignedLong(m.group(1), 16), values);
                if (currentFde != null) {
                    currentFde.rows().add(row);
                } else {
                    cies.putIfAbsent(currentCie, row);
                }
            }
        }
        return new Frames(cies, fdes);
    }
}
