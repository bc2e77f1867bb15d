package dev.spyglass.internal.python;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.junit.jupiter.api.Test;

import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.cpython.abi.PythonVersion;
import dev.spyglass.internal.os.RemoteMemory;

class StructSpansTest {

    @Test
    void mergesCloseFieldsAndSplitsFarOnesAndReadsThemBack() throws Exception {
        Layout l = Layout.builder(PythonVersion.of(3, 12, 1), "test").set(Field.INTERP_NEXT, 0)
                .set(Field.INTERP_TSTATE_HEAD, 72).set(Field.INTERP_ID, 8).set(Field.INTERP_GIL_PTR, 4000).build();
        StructSpans spans = StructSpans.of(l, Field.INTERP_NEXT, Field.INTERP_TSTATE_HEAD, Field.INTERP_ID,
                Field.INTERP_GIL_PTR, Field.INTERP_MODULES);
        assertThat(spans.ranges()).isEqualTo(2);
        assertThat(spans.has(Field.INTERP_MODULES)).isFalse();
        assertThat(spans.extent()).isEqualTo(4008);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment remote = arena.allocate(4096, 8);
            remote.set(ValueLayout.JAVA_LONG, 0, 11);
            remote.set(ValueLayout.JAVA_LONG, 8, 22);
            remote.set(ValueLayout.JAVA_LONG, 72, 33);
            remote.set(ValueLayout.JAVA_LONG, 4000, 44);
            try (RemoteMemory mem = RemoteMemory.open(ProcessHandle.current().pid(), remote.address())) {
                MemorySegment buf = arena.allocate(spans.bufferSize() + 64, 8);
                spans.queue(mem, remote.address(), buf, 64);
                assertThat(mem.flush()).isEqualTo(2);
                assertThat(spans.getLong(buf, 64, Field.INTERP_NEXT)).isEqualTo(11);
                assertThat(spans.getLong(buf, 64, Field.INTERP_ID)).isEqualTo(22);
                assertThat(spans.getLong(buf, 64, Field.INTERP_TSTATE_HEAD)).isEqualTo(33);
                assertThat(spans.getLong(buf, 64, Field.INTERP_GIL_PTR)).isEqualTo(44);
                assertThat(spans.getLong(buf, 64, Field.INTERP_MODULES)).isZero();
            }
        }
    }
}
