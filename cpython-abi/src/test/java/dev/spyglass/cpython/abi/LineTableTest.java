package dev.spyglass.cpython.abi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Hand-encoded tables for each format, pinning the conventions the oracle tests cannot reach. */
class LineTableTest {

    private static final PythonVersion PY27 = PythonVersion.of(2, 7, 18);
    private static final PythonVersion PY36 = PythonVersion.of(3, 6, 15);
    private static final PythonVersion PY310 = PythonVersion.of(3, 10, 13);
    private static final PythonVersion PY311 = PythonVersion.of(3, 11, 7);

    private static byte[] bytes(int... values) {
        byte[] b = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            b[i] = (byte) values[i];
        }
        return b;
    }

    @Test
    void picksTheFormatByVersion() {
        assertThat(LineTable.Format.of(PY27)).isEqualTo(LineTable.Format.LNOTAB_UNSIGNED);
        assertThat(LineTable.Format.of(PythonVersion.of(3, 5, 0))).isEqualTo(LineTable.Format.LNOTAB_UNSIGNED);
        assertThat(LineTable.Format.of(PY36)).isEqualTo(LineTable.Format.LNOTAB_SIGNED);
        assertThat(LineTable.Format.of(PythonVersion.of(3, 9, 0))).isEqualTo(LineTable.Format.LNOTAB_SIGNED);
        assertThat(LineTable.Format.of(PY310)).isEqualTo(LineTable.Format.LINETABLE_310);
        assertThat(LineTable.Format.of(PY311)).isEqualTo(LineTable.Format.LOCATION_TABLE);
        assertThat(LineTable.Format.of(PythonVersion.of(3, 14, 0))).isEqualTo(LineTable.Format.LOCATION_TABLE);
    }

    @Test
    void lnotabSignedSince36AndUnsignedBefore() {
        // (0,+3) at addr 0; (6,+1) from addr 6; (4,0xfe) from addr 10; a trailing odd byte is ignored.
        byte[] t = bytes(0, 3, 6, 1, 4, 0xfe, 5);
        LineTable signed = LineTable.of(PY36, t, 1);
        assertThat(signed.line(-1)).isEqualTo(1);
        assertThat(signed.line(0)).isEqualTo(4);
        assertThat(signed.line(5)).isEqualTo(4);
        assertThat(signed.line(6)).isEqualTo(5);
        assertThat(signed.line(9)).isEqualTo(5);
        assertThat(signed.line(10)).isEqualTo(3);
        assertThat(signed.line(1_000_000)).as("co_lnotab has no end: last line").isEqualTo(3);
        assertThat(signed.codeEnd()).isEqualTo(-1);
        assertThat(signed.location(6)).isEqualTo(new Location(5, -1, -1, -1));
        assertThat(signed.malformation()).isEmpty();

        LineTable unsigned = LineTable.of(PY27, t, 1);
        assertThat(unsigned.line(10)).isEqualTo(5 + 254);
    }

    @Test
    void lnotabLineJumpsSplitOverSeveralEntriesAddUp() {
        // A jump of +300 lines at addr 8: (8,127) (0,127) (0,46).
        LineTable t = LineTable.of(PY36, bytes(8, 127, 0, 127, 0, 46), 10);
        assertThat(t.line(7)).isEqualTo(10);
        assertThat(t.line(8)).isEqualTo(310);
    }

    @Test
    void linetable310SkipsZeroLengthEntriesAndMarksMinus128AsNoLine() {
        // [0,6) line 10; zero-length (0,+5); [6,10) line 16; [10,12) no line; [12,14) line 14.
        LineTable t = LineTable.of(PY310, bytes(6, 0, 0, 5, 4, 1, 2, 0x80, 2, 0xfe), 10);
        assertThat(t.line(-2)).isEqualTo(10);
        assertThat(t.line(0)).isEqualTo(10);
        assertThat(t.line(5)).isEqualTo(10);
        assertThat(t.line(6)).isEqualTo(16);
        assertThat(t.line(10)).isEqualTo(-1);
        assertThat(t.location(10)).isEqualTo(Location.UNKNOWN);
        assertThat(t.line(12)).isEqualTo(14);
        assertThat(t.line(14)).as("past the end").isEqualTo(-1);
        assertThat(t.codeEnd()).isEqualTo(14);
    }

    /** One entry of each 3.11 form, first line 100 (see Objects/locations.md). */
    private static final byte[] LOCATIONS = bytes(
            0x88, 0x25,              // short form 1, 1 unit: line 100, columns 10..15
            0xd9, 4, 20,             // one-line form +1, 2 units: line 101, columns 4..20
            0xe8, 0x07,              // no columns, 1 unit: line delta -3 -> 98
            0xf2, 0x58, 0x09, 0x02, 0x00, 0x6d, 0x04, // long, 3 units: +300 -> 398, end 400, col None, end col 300
            0xf8);                   // no location, 1 unit

    @Test
    void locationTableDecodesEveryEntryForm() throws MalformedObjectException {
        LineTable t = LineTable.decode(PY311, LOCATIONS, 100);
        assertThat(t.codeEnd()).isEqualTo(16);
        assertThat(t.location(0)).isEqualTo(new Location(100, 100, 10, 15));
        assertThat(t.location(1)).isEqualTo(new Location(100, 100, 10, 15));
        assertThat(t.location(2)).isEqualTo(new Location(101, 101, 4, 20));
        assertThat(t.location(5)).isEqualTo(new Location(101, 101, 4, 20));
        assertThat(t.location(6)).isEqualTo(new Location(98, 98, -1, -1));
        assertThat(t.location(8)).isEqualTo(new Location(398, 400, -1, 300));
        assertThat(t.location(13)).isEqualTo(new Location(398, 400, -1, 300));
        assertThat(t.location(14)).isEqualTo(Location.UNKNOWN);
        assertThat(t.line(14)).isEqualTo(-1);
        assertThat(t.location(16)).as("past the end").isEqualTo(Location.UNKNOWN);
        assertThat(t.line(Integer.MAX_VALUE)).isEqualTo(-1);
        // A frame that has not started (3.11/3.12 prev_instr one unit before the code): like PyCode_Addr2Location.
        assertThat(t.line(-2)).isEqualTo(100);
        assertThat(t.location(-2)).isEqualTo(new Location(100, 100, 0, 0));
        assertThat(t.line(Integer.MIN_VALUE)).isEqualTo(100);
    }

    @Test
    void malformedLocationTablesStopAtTheBadEntry() {
        LineTable truncated = LineTable.of(PY311, bytes(0x88, 0x25, 0x88), 1);
        assertThat(truncated.malformation()).hasValueSatisfying(m -> assertThat(m).contains("byte 2"));
        assertThat(truncated.location(0)).isEqualTo(new Location(1, 1, 10, 15));
        assertThat(truncated.line(2)).as("after the bad entry nothing is known").isEqualTo(-1);
        assertThatThrownBy(() -> LineTable.decode(PY311, bytes(0x88, 0x25, 0x88), 1))
                .isInstanceOf(MalformedObjectException.class).hasMessageContaining("malformed");

        assertThat(LineTable.of(PY311, bytes(0x07), 1).malformation())
                .hasValueSatisfying(m -> assertThat(m).contains("bit 7"));
        assertThat(LineTable.of(PY311, bytes(0xf0, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f), 1).malformation())
                .hasValueSatisfying(m -> assertThat(m).contains("varint"));
        assertThat(LineTable.of(PY311, bytes(0xf0, 0x40, 0x88), 1).malformation())
                .as("a varint running into the next entry").isPresent();
    }

    @Test
    void lineOverflowIsMalformedNotWrapped() {
        // +2^31 via a long-form varint on top of a large first line.
        LineTable t = LineTable.of(PY311, bytes(0xf0, 0x40, 0x7f, 0x7f, 0x7f, 0x7f, 0x03, 0, 0, 0), Integer.MAX_VALUE - 5);
        assertThat(t.malformation()).isPresent();
        LineTable lnotab = LineTable.of(PY27, bytes(1, 255, 1, 255), Integer.MAX_VALUE - 300);
        assertThat(lnotab.malformation()).isPresent();
        assertThat(lnotab.line(1)).isEqualTo(Integer.MAX_VALUE - 45);
    }

    @Test
    void emptyTables() {
        assertThat(LineTable.of(PY36, new byte[0], 7).line(0)).isEqualTo(7);
        assertThat(LineTable.of(PY36, new byte[0], 7).line(100)).isEqualTo(7);
        assertThat(LineTable.of(PY310, new byte[0], 7).line(0)).isEqualTo(-1);
        assertThat(LineTable.of(PY311, new byte[0], 7).location(0)).isEqualTo(Location.UNKNOWN);
        assertThat(LineTable.of(PY311, new byte[0], 7).line(-2)).isEqualTo(7);
    }

    @Test
    void offsetHelpers() throws MalformedObjectException {
        assertThat(LineTable.byteOffsetOfLasti(PY27, 17)).isEqualTo(17);
        assertThat(LineTable.byteOffsetOfLasti(PythonVersion.of(3, 9, 0), -1)).isEqualTo(-1);
        assertThat(LineTable.byteOffsetOfLasti(PY310, 21)).isEqualTo(42);
        assertThat(LineTable.byteOffsetOfLasti(PY310, -1)).isEqualTo(-1);
        assertThatThrownBy(() -> LineTable.byteOffsetOfLasti(PY311, 3)).isInstanceOf(IllegalArgumentException.class);

        assertThat(LineTable.byteOffsetOfInstruction(0x1000 + 40, 0x1000)).isEqualTo(40);
        assertThat(LineTable.byteOffsetOfInstruction(0x1000 - 2, 0x1000)).isEqualTo(-2);
        assertThatThrownBy(() -> LineTable.byteOffsetOfInstruction(0x1001, 0x1000))
                .isInstanceOf(MalformedObjectException.class).hasMessageContaining("0x1001");
        assertThatThrownBy(() -> LineTable.byteOffsetOfInstruction(0x1000 - 4, 0x1000))
                .isInstanceOf(MalformedObjectException.class);
        assertThatThrownBy(() -> LineTable.byteOffsetOfInstruction(Long.MAX_VALUE - 1, 0))
                .isInstanceOf(MalformedObjectException.class);
    }
}
