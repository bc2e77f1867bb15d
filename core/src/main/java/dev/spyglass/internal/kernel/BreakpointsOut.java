package dev.spyglass.internal.kernel;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.SpyglassException;
import dev.spyglass.internal.os.ProcessMap;

/**
 * Waits, once a set of uprobes has closed its events, until their breakpoints are out of the target. The kernel takes
 * a breakpoint out with the last descriptor of its events, and a child this JVM is starting holds a copy of every
 * descriptor from its fork to its exec (they are close-on-exec): a close then returns with the {@code int3} still in
 * the target, taken out at the child's exec. Seen on Linux 6.18 at load 8: in 10 of 40 closes while another thread of
 * the JVM started processes, for 20 - 107 ms, and in none of 40 without (FunctionProbesTest).
 *
 * <p>The target's byte at each probed instruction is compared with the object file's byte at that offset. Best
 * effort: an object or a process that cannot be read, or a target that has ended, is not waited for; a breakpoint
 * still in place after the wait (another probe on the same instruction, of this JVM or another tool) is logged.
 */
final class BreakpointsOut {
    private static final Logger LOG = LoggerFactory.getLogger(BreakpointsOut.class);
    private static final byte INT3 = (byte) 0xCC;
    /** How long a close waits for its breakpoints at most: a child's exec takes milliseconds, 0.1 s at load 8. */
    static final long WAIT_NANOS = 1_000_000_000L;

    private BreakpointsOut() {
    }

    /** Waits up to {@link #WAIT_NANOS} for the breakpoints of {@code probes} to be out of process {@code pid}. */
    static void await(long pid, List<UprobeSet.Probe> probes) {
        long start = System.nanoTime();
        List<long[]> sites; // {address in the target, original byte}
        try {
            sites = sites(pid, probes);
        } catch (IOException | SpyglassException | RuntimeException e) {
            return; // the target ended, or its map or an object cannot be read: nothing to compare
        }
        Path mem = Path.of("/proc", Long.toString(pid), "mem");
        try (RandomAccessFile in = new RandomAccessFile(mem.toFile(), "r")) {
            while (true) {
                long still = -1;
                for (long[] s : sites) {
                    in.seek(s[0]);
                    int b = in.read();
                    if (b >= 0 && (byte) b == INT3 && (byte) s[1] != INT3) {
                        still = s[0];
                        break;
                    }
                }
                long waited = System.nanoTime() - start;
                if (still < 0) {
                    if (waited > 5_000_000L) {
                        LOG.debug("breakpoints out of process {} {} ms after their events closed", pid, waited / 1_000_000);
                    }
                    return;
                }
                if (waited >= WAIT_NANOS) {
                    LOG.info("a breakpoint at 0x{} of process {} is still in place {} ms after its events closed: another"
                            + " probe on the same instruction, or a process this JVM is starting holds their descriptors"
                            + " until its exec", Long.toHexString(still), pid, waited / 1_000_000);
                    return;
                }
                Thread.sleep(1);
            }
        } catch (IOException e) {
            // the target ended, or its memory cannot be read here: nothing to wait for
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Each distinct probed instruction mapped in {@code pid}: its address there and the object file's byte. */
    private static List<long[]> sites(long pid, List<UprobeSet.Probe> probes) throws IOException, SpyglassException {
        Set<String> seen = new LinkedHashSet<>();
        ProcessMap map = ProcessMap.read(pid);
        List<long[]> out = new ArrayList<>();
        for (UprobeSet.Probe p : probes) {
            if (!seen.add(p.objectPath() + "@" + p.offset())) {
                continue;
            }
            Path object = Path.of(p.objectPath());
            long inode = ((Number) Files.getAttribute(object, "unix:ino")).longValue();
            int original;
            try (RandomAccessFile f = new RandomAccessFile(object.toFile(), "r")) {
                f.seek(p.offset());
                original = f.read();
            }
            for (long address : map.codeAddresses(m -> m.inode() == inode, p.offset())) {
                out.add(new long[] {address, original});
            }
        }
        return out;
    }
}
