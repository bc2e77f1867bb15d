package dev.spyglass.internal.os;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.junit.jupiter.api.Test;

import dev.spyglass.AccessDeniedException;
import dev.spyglass.ProcessGoneException;

/** Reads this JVM's own memory through process_vm_readv: the syscall path with known contents. */
class ProcessVmMemoryTest {
    private static final long SELF = ProcessHandle.current().pid();

    @Test
    void readsWordsRangesAndBatches() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = arena.allocate(4096, 8);
            for (int i = 0; i < 512; i++) {
                src.setAtIndex(ValueLayout.JAVA_LONG, i, 1000L + i);
            }
            try (RemoteMemory mem = RemoteMemory.open(SELF, src.address())) {
                assertThat(mem.usesProcMem()).isFalse();
                assertThat(mem.readLong(src.address() + 8)).isEqualTo(1001L);
                assertThat(mem.readInt(src.address() + 16)).isEqualTo(1002);
                MemorySegment a = arena.allocate(16);
                MemorySegment b = arena.allocate(8);
                long before = mem.syscalls();
                mem.add(src.address() + 80, a);
                mem.add(src.address() + 4088, b);
                assertThat(mem.flush()).isEqualTo(2);
                assertThat(mem.syscalls() - before).isEqualTo(1);
                assertThat(a.get(ValueLayout.JAVA_LONG, 0)).isEqualTo(1010L);
                assertThat(a.get(ValueLayout.JAVA_LONG, 8)).isEqualTo(1011L);
                assertThat(b.get(ValueLayout.JAVA_LONG, 0)).isEqualTo(1511L);
            }
        }
    }

    @Test
    void procMemFallbackReadsTheSameAndFaultsTheSame() throws Exception {
        try (Arena arena = Arena.ofConfined(); RemoteMemory mem = ProcessVmMemory.openProcMem(SELF)) {
            MemorySegment src = arena.allocate(64, 8);
            src.set(ValueLayout.JAVA_LONG, 8, 0x1122334455667788L);
            assertThat(mem.usesProcMem()).isTrue();
            assertThat(mem.readLong(src.address() + 8)).isEqualTo(0x1122334455667788L);
            MemorySegment a = arena.allocate(8);
            MemorySegment b = arena.allocate(8);
            mem.add(src.address() + 8, a);
            mem.add(8, b);
            assertThat(mem.flush()).isEqualTo(1);
            assertThat(a.get(ValueLayout.JAVA_LONG, 0)).isEqualTo(0x1122334455667788L);
            assertThatThrownBy(() -> mem.readLong(16)).isInstanceOf(MemoryFault.class);
        }
    }

    @Test
    void unmappedAddressIsAMemoryFaultNotACrash() throws Exception {
        try (Arena arena = Arena.ofConfined(); RemoteMemory mem = RemoteMemory.open(SELF, arena.allocate(8).address())) {
            MemorySegment dst = arena.allocate(64);
            assertThatThrownBy(() -> mem.read(8, dst)).isInstanceOf(MemoryFault.class);
            assertThatThrownBy(() -> mem.readLong(0x7ffffffff000L)).isInstanceOf(MemoryFault.class);
            assertThat(mem.readPartial(16, dst)).isZero();
            // A batch stops at the first unmapped range: only the ranges before it count.
            MemorySegment ok = arena.allocate(8);
            mem.add(ok.address(), arena.allocate(8));
            mem.add(8, arena.allocate(8));
            mem.add(ok.address(), arena.allocate(8));
            assertThat(mem.flush()).isEqualTo(1);
        }
    }

    @Test
    void readCrossingIntoUnmappedMemoryIsPartial() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            ProcessMap map = ProcessMap.read(SELF);
            // The end of some readable mapping not followed directly by another one.
            ProcessMap.Mapping edge = map.mappings().stream()
                    .filter(m -> m.readable() && map.find(m.end()).isEmpty() && !m.path().startsWith("["))
                    .findFirst().orElseThrow();
            try (RemoteMemory mem = RemoteMemory.open(SELF, edge.start())) {
                MemorySegment dst = arena.allocate(64);
                assertThat(mem.readPartial(edge.end() - 16, dst)).isEqualTo(16);
                assertThatThrownBy(() -> mem.read(edge.end() - 16, dst)).isInstanceOf(MemoryFault.class)
                        .satisfies(e -> assertThat(((MemoryFault) e).transferred()).isEqualTo(16));
            }
        }
    }

    @Test
    void missingProcessIsProcessGone() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        assertThatThrownBy(() -> RemoteMemory.open(p.pid(), 0x400000)).isInstanceOf(ProcessGoneException.class);
    }

    @Test
    void errnoMeanings() {
        assertThat(Errno.classify(Errno.ESRCH)).isEqualTo(Errno.Meaning.PROCESS_GONE);
        assertThat(Errno.classify(Errno.EPERM)).isEqualTo(Errno.Meaning.ACCESS_DENIED);
        assertThat(Errno.classify(Errno.EACCES)).isEqualTo(Errno.Meaning.ACCESS_DENIED);
        assertThat(Errno.classify(Errno.EFAULT)).isEqualTo(Errno.Meaning.UNMAPPED);
        assertThat(Errno.classify(Errno.ENOSYS)).isEqualTo(Errno.Meaning.NO_SYSCALL);
        assertThat(Errno.toException(42, Errno.ESRCH, "reading")).isInstanceOf(ProcessGoneException.class);
        assertThat(Errno.toException(42, Errno.EPERM, "reading")).isInstanceOf(AccessDeniedException.class)
                .hasMessageContaining("process 42");
        assertThat(Errno.toException(42, Errno.EINVAL, "reading")).hasMessageContaining("EINVAL");
    }

    @Test
    void accessDeniedMessagesNameWhatIsNeeded() {
        assertThat(AccessDiagnostics.message(7, "reading", 1000, 0, false, "1"))
                .contains("uid 0").contains("uid 1000").contains("CAP_SYS_PTRACE").contains("same user");
        assertThat(AccessDiagnostics.message(7, "reading", 1000, 1000, false, "1"))
                .contains("ptrace_scope is 1").contains("kernel.yama.ptrace_scope=0");
        assertThat(AccessDiagnostics.message(7, "reading", 0, 1000, true, null)).contains("seccomp");
        // A container's root without the capability (a sidecar): the exact capability and options are named.
        assertThat(AccessDiagnostics.message(7, "reading", 0, 1000, false, null))
                .contains("this JVM as uid 0 without the capability CAP_SYS_PTRACE")
                .contains("docker run --cap-add SYS_PTRACE").contains("add: [\"SYS_PTRACE\"]")
                .contains("shareProcessNamespace");
        // In a user namespace the full CapEff counts only inside it: the namespace, not seccomp, is named.
        assertThat(AccessDiagnostics.message(7, "reading", 0, 0, true, null, "0 0 1"))
                .contains("user namespace").contains("uid_map '0 0 1'").doesNotContain("seccomp");
    }
}
