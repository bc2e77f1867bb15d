package dev.spyglass.internal.python;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

import dev.spyglass.Frame;
import dev.spyglass.cpython.abi.LineTable;
import dev.spyglass.cpython.abi.PythonVersion;

class FrameInternerTest {

    private static Frame frame(int line) {
        return Frame.python("f", "Mod.f", "/app/x.py", line, 1);
    }

    @Test
    void returnsTheFirstInstanceOfEqualFrames() {
        FrameInterner interner = new FrameInterner(16);
        Frame first = frame(3);
        assertThat(interner.intern(first)).isSameAs(first);
        Frame equal = frame(3);
        assertThat(equal).isEqualTo(first).isNotSameAs(first);
        assertThat(interner.intern(equal)).isSameAs(first);
        assertThat(interner.intern(frame(4))).isNotSameAs(first);
        assertThat(interner.size()).isEqualTo(2);
    }

    @Test
    void keepsNoMoreThanItsCapacity() {
        FrameInterner interner = new FrameInterner(2);
        Frame one = interner.intern(frame(1));
        interner.intern(frame(2));
        Frame third = frame(3);
        assertThat(interner.intern(third)).isSameAs(third);
        assertThat(interner.intern(frame(3))).as("not kept past capacity").isNotSameAs(third).isEqualTo(third);
        assertThat(interner.intern(frame(1))).isSameAs(one);
        assertThat(interner.size()).isEqualTo(2);
        assertThatThrownBy(() -> new FrameInterner(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void frameFactoriesOnlyConstruct() {
        assertThat(Frame.python("f", "f", "x.py", 1)).isEqualTo(Frame.python("f", "f", "x.py", 1))
                .isNotSameAs(Frame.python("f", "f", "x.py", 1));
    }

    /** Code entries of one target share that target's frames; entries of another target do not. */
    @Test
    void codeEntriesOfOneTargetShareItsFrames() {
        FrameInterner target = new FrameInterner(16);
        CodeEntry first = entry(target);
        CodeEntry second = entry(target);
        CodeEntry other = entry(new FrameInterner(16));
        assertThat(first.frame(0)).isEqualTo(second.frame(0)).isSameAs(second.frame(0));
        assertThat(other.frame(0)).isEqualTo(first.frame(0)).isNotSameAs(first.frame(0));
        assertThat(target.size()).isEqualTo(1);
    }

    private static CodeEntry entry(FrameInterner interner) {
        // 3.10 and older line numbers from co_lnotab: no increments, so every offset is on the first line.
        PythonVersion v = PythonVersion.of(3, 9, 18);
        return new CodeEntry(new long[] {1}, "f", "f", "/app/x.py", 7, LineTable.of(v, new byte[0], 7), false, -1,
                interner);
    }
}
