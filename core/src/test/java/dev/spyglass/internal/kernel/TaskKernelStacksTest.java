package dev.spyglass.internal.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import dev.spyglass.Frame;

class TaskKernelStacksTest {

    /** The text of a thread blocked in a pipe read on 6.18, with a module frame and a line with no offset. */
    @Test
    void parsesTheKernelsLinesInnermostFirst() {
        byte[] text = String.join("\n",
                "[<0>] anon_pipe_read+0x393/0x440",
                "[<0>] vfs_read+0x397/0x3d0",
                "[<0>] nfs_file_read+0x10/0x80 [nfs]",
                "[<0>] bare_symbol",
                "[<0>] entry_SYSCALL_64_after_hwframe+0x76/0x7e",
                "").getBytes(StandardCharsets.US_ASCII);
        KernelFrameNames names = new KernelFrameNames();
        List<Frame> out = new ArrayList<>();
        try (TaskKernelStacks stacks = new TaskKernelStacks(1, names)) {
            assertThat(stacks.parse(text, text.length, out)).isEqualTo(5);
        }
        assertThat(out).extracting(Frame::function).containsExactly("anon_pipe_read", "vfs_read", "nfs_file_read",
                "bare_symbol", "entry_SYSCALL_64_after_hwframe");
        assertThat(out).allMatch(f -> f.kind() == Frame.FrameKind.KERNEL && f.file().equals("[kernel]"));
        List<Frame> again = new ArrayList<>();
        new TaskKernelStacks(1, names).parse(text, text.length, again);
        assertThat(again.get(1)).isSameAs(out.get(1)); // one frame per symbol
    }

    @Test
    void garbageGivesNoFramesAndNoFailure() {
        byte[] text = "\n\n]]]+\n[<0>] \n[<0>]+0x1\nnot a stack line at all".getBytes(StandardCharsets.US_ASCII);
        List<Frame> out = new ArrayList<>();
        new TaskKernelStacks(1, new KernelFrameNames()).parse(text, text.length, out);
        assertThat(out).extracting(Frame::function).doesNotContain("");
    }

    /** A thread of this JVM parked in a futex: its stack is read through a kept descriptor, closed at the end. */
    @Test
    void readsABlockedThreadOfThisProcessAndClosesItsDescriptor() throws Exception {
        Assumptions.assumeTrue(TaskKernelStacks.refusal() == null, "refused here: " + TaskKernelStacks.refusal());
        Object lock = new Object();
        long[] tid = {0};
        Thread t = new Thread(() -> {
            try {
                tid[0] = Long.parseLong(Files.readSymbolicLink(Path.of("/proc/thread-self")).getFileName().toString());
                synchronized (lock) {
                    lock.wait();
                }
            } catch (Exception e) {
                // ends the thread
            }
        });
        t.setDaemon(true);
        t.start();
        long pid = ProcessHandle.current().pid();
        List<Frame> out = new ArrayList<>();
        try (TaskKernelStacks stacks = new TaskKernelStacks(pid, new KernelFrameNames())) {
            for (int i = 0; i < 2000 && out.isEmpty(); i++) {
                Thread.sleep(5);
                if (tid[0] != 0) {
                    stacks.read(tid[0], out);
                }
            }
            assertThat(out).extracting(Frame::function).as(out.toString()).anyMatch(n -> n.contains("futex"));
            assertThat(stacks.openCount()).isEqualTo(1);
            assertThat(stacks.read(Integer.MAX_VALUE, out)).as("no such thread").isZero();
        } finally {
            t.interrupt();
        }
    }
}
