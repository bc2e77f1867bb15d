package dev.spyglass.internal.os;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.ProcessGoneException;
import dev.spyglass.SpyglassException;

/**
 * The process Spyglass attached to, held by identity rather than by its number: a PID is reused once
 * the process has exited and been reaped, and a non-PIE interpreter started under the old PID has its
 * structures at the very same addresses, so reads by PID alone would go on "succeeding" in the wrong
 * process. And {@code exec} keeps the PID but replaces the program.
 *
 * <ul>
 * <li>Exit and PID reuse: a pidfd ({@code pidfd_open(2)}, Linux 5.3+) refers to the process itself,
 * not to its number, and polls readable once it has exited (zombie included). Where the system call is
 * unavailable ({@code ENOSYS}, or {@code EPERM} from a seccomp filter) an open {@code /proc/PID/stat}
 * stands in: it too stays bound to the process it was opened for (reading it fails with {@code ESRCH}
 * once that process is reaped, even if its PID was reused), and its state field tells a zombie.</li>
 * <li>Exec: the 16 random bytes the kernel puts on a new program's stack at every {@code execve}
 * ({@code AT_RANDOM} in {@code /proc/PID/auxv}, used by glibc for the stack canary): the same bytes at
 * the same address mean the same program image. When they cannot be located, the {@code (device,
 * inode)} of {@code /proc/PID/exe}, checked at most every 100 ms (it cannot tell an exec of the same
 * binary).</li>
 * </ul>
 *
 * <p>{@link #check} is meant to run after every look: if the process is the same one, running the same
 * program, after a look, then every read of that look came from it (a process cannot come back from
 * exit, nor an exec be undone). Cost: one {@code poll(2)} and one 16-byte {@code process_vm_readv}
 * ({@code ProcessIdentityBenchmark}); the read is saved when the look's only read copied the bytes
 * ({@link #check(boolean)}). The {@code AT_RANDOM} read alone also tells an
 * exit (the read fails) and a reused PID (another process's random bytes), so without a pidfd the
 * stat file, ~12 µs a read, is read only every 100 ms as a backstop (every look when
 * {@code AT_RANDOM} is not watched). Not thread-safe.
 */
@SuppressWarnings("restricted") // native access is the point of this class; callers enable it
public final class ProcessIdentity implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ProcessIdentity.class);

    /** {@code pidfd_open} on x86-64 (and every architecture using the generic table, since 5.3). */
    private static final long SYS_PIDFD_OPEN = 434;
    private static final short POLLIN = 1;
    private static final long AT_RANDOM = 25;
    /** How often the checks that cost a file read run when a cheaper one covers the same change. */
    private static final long SLOW_CHECK_NANOS = 100_000_000L;

    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle SYSCALL;
    private static final MethodHandle POLL;
    private static final MethodHandle CLOSE;

    static {
        Linker linker = Linker.nativeLinker();
        MethodHandle syscall = null;
        MethodHandle poll = null;
        MethodHandle close = null;
        try {
            syscall = linker.defaultLookup().find("syscall").map(a -> linker.downcallHandle(a,
                    FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                            ValueLayout.JAVA_LONG),
                    Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"))).orElse(null);
            poll = linker.defaultLookup().find("poll").map(a -> linker.downcallHandle(a,
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                            ValueLayout.JAVA_INT),
                    Linker.Option.critical(false))).orElse(null);
            close = linker.defaultLookup().find("close").map(a -> linker.downcallHandle(a,
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT))).orElse(null);
        } catch (RuntimeException e) {
            LOG.debug("pidfd system calls not available: {}", e.toString());
        }
        SYSCALL = syscall;
        POLL = poll;
        CLOSE = close;
    }

    private final long pid;
    private final long startTime;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment pollFd;
    /** The pidfd, or -1 when {@link #stat} stands in for it. */
    private final int pidfd;
    private final FileChannel stat;
    private final ByteBuffer statBuffer;

    private RemoteMemory memory;
    private long randomAddress;
    private long random0;
    private long random1;
    private MemorySegment randomCopy;
    private MemorySegment piggyCopy;
    private long exeDevice;
    private long exeInode;
    private long nextExeCheck;
    private long nextStatCheck;
    private boolean closed;

    private ProcessIdentity(long pid, long startTime, int pidfd, FileChannel stat) {
        this.pid = pid;
        this.startTime = startTime;
        this.pidfd = pidfd;
        this.stat = stat;
        this.pollFd = arena.allocate(8, 8);
        pollFd.set(ValueLayout.JAVA_INT, 0, pidfd);
        pollFd.set(ValueLayout.JAVA_SHORT, 4, POLLIN);
        this.statBuffer = stat != null ? ByteBuffer.allocateDirect(1024) : null;
    }

    /**
     * Takes hold of process {@code pid} as it is now: its pidfd (else an open {@code /proc/PID/stat})
     * and its start time.
     *
     * @throws ProcessGoneException there is no such process, or it has already exited (a zombie)
     */
    public static ProcessIdentity open(long pid) throws SpyglassException {
        return open(pid, true);
    }

    /** As {@link #open(long)}; without {@code pidfd}, as where {@code pidfd_open} is unavailable (tests). */
    static ProcessIdentity open(long pid, boolean pidfd) throws SpyglassException {
        int fd = pidfd ? pidfdOpen(pid) : -1;
        FileChannel stat = null;
        try {
            long start;
            if (fd < 0) {
                stat = FileChannel.open(statPath(pid), StandardOpenOption.READ);
                start = startTime(readStat(stat, ByteBuffer.allocate(1024)), pid);
            } else {
                start = startTime(Files.readAllBytes(statPath(pid)), pid);
            }
            ProcessIdentity id = new ProcessIdentity(pid, start, fd, stat);
            if (id.exited()) {
                id.close();
                throw new ProcessGoneException(pid, "process " + pid + " has exited");
            }
            return id;
        } catch (IOException e) {
            closeQuietly(fd, stat);
            throw new ProcessGoneException(pid, "process " + pid + " does not exist (any more)");
        } catch (SpyglassException | RuntimeException e) {
            closeQuietly(fd, stat);
            throw e;
        }
    }

    private static Path statPath(long pid) {
        return Path.of("/proc", Long.toString(pid), "stat");
    }

    /** The pidfd of {@code pid}, or -1 when the system call is unavailable; ESRCH is a gone process. */
    private static int pidfdOpen(long pid) throws ProcessGoneException {
        if (SYSCALL == null) {
            return -1;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment capture = a.allocate(CAPTURE);
            long fd = (long) SYSCALL.invokeExact(capture, SYS_PIDFD_OPEN, pid, 0L);
            if (fd >= 0) {
                return (int) fd;
            }
            int errno = (int) ERRNO.get(capture, 0L);
            if (errno == Errno.ESRCH) {
                throw new ProcessGoneException(pid, "process " + pid + " does not exist (any more)");
            }
            // ENOSYS before Linux 5.3, EPERM from a container's seccomp profile: hold /proc/PID/stat instead.
            LOG.debug("pidfd_open({}) failed with {}: holding /proc/{}/stat instead", pid, Errno.name(errno), pid);
            return -1;
        } catch (ProcessGoneException e) {
            throw e;
        } catch (Throwable t) {
            LOG.debug("pidfd_open downcall failed: {}", t.toString());
            return -1;
        }
    }

    /**
     * From now on, also checks that the process still runs the program it runs now (no {@code exec}),
     * reading the {@code AT_RANDOM} bytes through {@code memory}.
     */
    public void watchProgram(RemoteMemory memory) {
        this.memory = memory;
        try {
            byte[] auxv = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "auxv"));
            ByteBuffer b = ByteBuffer.wrap(auxv).order(ByteOrder.LITTLE_ENDIAN);
            while (b.remaining() >= 16) {
                long type = b.getLong();
                long value = b.getLong();
                if (type == AT_RANDOM && value != 0) {
                    randomCopy = arena.allocate(16, 8);
                    memory.read(value, randomCopy);
                    random0 = randomCopy.get(ValueLayout.JAVA_LONG, 0);
                    random1 = randomCopy.get(ValueLayout.JAVA_LONG, 8);
                    randomAddress = value;
                    break;
                }
            }
        } catch (IOException | MemoryFault | SpyglassException e) {
            LOG.debug("no AT_RANDOM for process {} ({}): exec is detected by /proc/{}/exe only", pid, e.toString(), pid);
            randomAddress = 0;
        }
        long[] exe = exe(pid);
        exeDevice = exe[0];
        exeInode = exe[1];
        nextExeCheck = System.nanoTime() + SLOW_CHECK_NANOS;
    }

    /**
     * Where the {@code AT_RANDOM} bytes are (0 when not watched) and a 16-byte buffer a look may copy
     * them into, in its own first read: {@link #check(boolean)} then needs no read of its own.
     */
    public long programMarkAddress() {
        return randomAddress;
    }

    /** The buffer for {@link #programMarkAddress()}'s bytes (see {@link #check(boolean)}). */
    public MemorySegment programMarkCopy() {
        if (piggyCopy == null) {
            piggyCopy = arena.allocate(16, 8);
        }
        return piggyCopy;
    }

    /** The process id. */
    public long pid() {
        return pid;
    }

    /** The process's start time, clock ticks since boot (field 22 of {@code /proc/PID/stat}). */
    public long startTime() {
        return startTime;
    }

    /** {@code true} when a pidfd holds the process ({@code false}: an open {@code /proc/PID/stat}). */
    public boolean usesPidfd() {
        return pidfd >= 0;
    }

    /**
     * {@code null} while this is the same process running the same program; else the exception to end
     * with, saying whether it exited (and whether its PID now names another process) or replaced its
     * program.
     */
    public ProcessGoneException check() {
        return check(false);
    }

    /**
     * As {@link #check()}; with {@code markCopiedInTheOnlyRead}, the look read nothing but one call that
     * also copied the {@code AT_RANDOM} bytes into {@link #programMarkCopy()}: their comparison then
     * stands for the read, as all of the look's data came from the memory that held them.
     */
    public ProcessGoneException check(boolean markCopiedInTheOnlyRead) {
        if (closed) {
            throw new IllegalStateException("identity of process " + pid + " is closed");
        }
        long now = System.nanoTime();
        // The held stat file costs ~12 µs a read: where AT_RANDOM is watched it already tells a reused
        // PID (other random bytes) and an exit (the read fails), so the file is only a backstop there.
        boolean statDue = pidfd >= 0 || randomAddress == 0 || now - nextStatCheck >= 0;
        if (statDue) {
            nextStatCheck = now + SLOW_CHECK_NANOS;
            if (exited()) {
                return gone();
            }
        }
        if (memory == null) {
            return null;
        }
        if (randomAddress != 0 && markCopiedInTheOnlyRead && piggyCopy != null
                && piggyCopy.get(ValueLayout.JAVA_LONG, 0) == random0 && piggyCopy.get(ValueLayout.JAVA_LONG, 8) == random1) {
            return null;
        }
        if (randomAddress != 0) {
            boolean same;
            try {
                memory.read(randomAddress, randomCopy);
                same = randomCopy.get(ValueLayout.JAVA_LONG, 0) == random0
                        && randomCopy.get(ValueLayout.JAVA_LONG, 8) == random1;
            } catch (MemoryFault e) {
                same = false;
            } catch (ProcessGoneException e) {
                return gone();
            } catch (SpyglassException e) {
                // Not an answer about the program: the read that failed will say more.
                return null;
            }
            if (same) {
                return null;
            }
            // Other bytes: another program in this process (exec), or another process under its PID.
            return exited() ? gone() : execed();
        }
        if (now - nextExeCheck >= 0) {
            nextExeCheck = now + SLOW_CHECK_NANOS;
            long[] exe = exe(pid);
            if (exe[1] != 0 && (exe[0] != exeDevice || exe[1] != exeInode)) {
                return execed();
            }
        }
        return null;
    }

    /** Whether the process has exited (a zombie counts), asked of the pidfd or the held stat file. */
    boolean exited() {
        if (pidfd >= 0) {
            pollFd.set(ValueLayout.JAVA_SHORT, 6, (short) 0);
            int n;
            try {
                n = (int) POLL.invokeExact(pollFd, 1L, 0);
            } catch (Throwable t) {
                throw new IllegalStateException("poll downcall failed", t);
            }
            return n > 0 && (pollFd.get(ValueLayout.JAVA_SHORT, 6) & POLLIN) != 0;
        }
        try {
            byte[] s = readStat(stat, statBuffer);
            char state = state(s);
            return state == 'Z' || state == 'X' || startTime(s, pid) != startTime;
        } catch (IOException | SpyglassException e) {
            // ESRCH: the process this file was opened for has been reaped.
            return true;
        }
    }

    private ProcessGoneException gone() {
        long other = currentStartTime(pid);
        String now = other >= 0 && other != startTime ? "; its PID now belongs to another process" : "";
        return new ProcessGoneException(pid, "process " + pid + " exited" + now, false);
    }

    private ProcessGoneException execed() {
        String program;
        try {
            program = Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "exe")).toString();
        } catch (IOException e) {
            program = "another program";
        }
        return new ProcessGoneException(pid, "process " + pid + " replaced its program (exec): now " + program, true);
    }

    /** The start time of whatever process has {@code pid} now, -1 when none. */
    private static long currentStartTime(long pid) {
        try {
            return startTime(Files.readAllBytes(statPath(pid)), pid);
        } catch (IOException | SpyglassException e) {
            return -1;
        }
    }

    private static byte[] readStat(FileChannel channel, ByteBuffer buffer) throws IOException {
        buffer.clear();
        long position = 0;
        int n;
        while ((n = channel.read(buffer, position)) > 0 && buffer.hasRemaining()) {
            position += n;
        }
        buffer.flip();
        byte[] bytes = new byte[buffer.remaining()];
        buffer.get(bytes);
        return bytes;
    }

    /** The state letter after the command's closing parenthesis (the command may hold any byte). */
    private static char state(byte[] stat) {
        int close = lastParen(stat);
        return close >= 0 && close + 2 < stat.length ? (char) stat[close + 2] : 'X';
    }

    private static int lastParen(byte[] stat) {
        for (int i = stat.length - 1; i >= 0; i--) {
            if (stat[i] == ')') {
                return i;
            }
        }
        return -1;
    }

    /** Field 22, {@code starttime}: the 20th field after the command's closing parenthesis. */
    static long startTime(byte[] stat, long pid) throws SpyglassException {
        int close = lastParen(stat);
        String[] fields = close < 0 ? new String[0]
                : new String(stat, close + 2, stat.length - close - 2, StandardCharsets.US_ASCII).trim().split(" ");
        // fields[0] is field 3 (state): field 22 is fields[19].
        if (fields.length < 20) {
            throw new SpyglassException("cannot read the start time of process " + pid + " from /proc/" + pid + "/stat");
        }
        return Long.parseLong(fields[19]);
    }

    /** (device, inode) of the process's executable, zeros when it cannot be read. */
    private static long[] exe(long pid) {
        try {
            var attrs = Files.readAttributes(Path.of("/proc", Long.toString(pid), "exe"), "unix:dev,ino");
            return new long[] {((Number) attrs.get("dev")).longValue(), ((Number) attrs.get("ino")).longValue()};
        } catch (IOException | RuntimeException e) {
            return new long[2];
        }
    }

    private static void closeQuietly(int fd, FileChannel stat) {
        if (fd >= 0 && CLOSE != null) {
            try {
                int ignored = (int) CLOSE.invokeExact(fd);
            } catch (Throwable t) {
                LOG.debug("close({}) failed: {}", fd, t.toString());
            }
        }
        if (stat != null) {
            try {
                stat.close();
            } catch (IOException e) {
                LOG.debug("closing /proc/PID/stat: {}", e.toString());
            }
        }
    }

    /** Releases the pidfd or the stat file. The remote memory given to {@link #watchProgram} is not closed. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        closeQuietly(pidfd, stat);
        arena.close();
    }
}
