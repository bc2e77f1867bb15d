package dev.spyglass.internal.session;

import java.util.ArrayList;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.ProcessGoneException;
import dev.spyglass.ProfileEvent;
import dev.spyglass.SamplingMode;
import dev.spyglass.SpyglassException;
import dev.spyglass.internal.python.Target;

/**
 * The Python stacks of a process and of the CPython processes among its descendants
 * ({@link dev.spyglass.Sampler.Builder#followChildren}): one {@link PythonStackSource} per process, each with the
 * layout of its own CPython version, polled in turn at every tick. A {@link DescendantWatch} finds and attaches
 * the processes on its own thread; this source takes them in at the next tick, and drops each when it exits or
 * {@code exec}s (the watch then looks at its new program). The session ends once the watched tree has died out:
 * its root and every process followed exited.
 */
public final class ProcessFamily implements EventSource {
    private static final Logger LOG = LoggerFactory.getLogger(ProcessFamily.class);

    /** Opens the source of a CPython process found; the source owns the target once returned. */
    @FunctionalInterface
    public interface SourceOpener {
        PythonStackSource open(Target target) throws SpyglassException;
    }

    private record Member(FollowedProcess process, PythonStackSource source) {
    }

    private final Member root;
    private final DescendantWatch watch;
    private final SourceOpener opener;
    private final List<Member> members = new ArrayList<>();
    private final Counting counting = new Counting();
    /** How the session's own target ended, when it did: what the session reports when the family has died out. */
    private ProcessGoneException rootGone;

    /**
     * @param root      the session's target's source, polled first while it lives; closed with this source
     * @param rootPid   the target's process id
     * @param watch     finds the descendants; started here, closed with this source
     */
    public ProcessFamily(PythonStackSource root, FollowedProcess rootProcess, DescendantWatch watch,
            SourceOpener opener) {
        this.root = new Member(rootProcess, root);
        this.watch = watch;
        this.opener = opener;
        members.add(this.root);
        watch.start();
    }

    @Override
    public void poll(long timestampNanos, SamplingMode mode, EventBuffer out) throws SpyglassException {
        DescendantWatch.Found f;
        while ((f = watch.takeFound()) != null) {
            try {
                members.add(new Member(f.process(), opener.open(f.target())));
            } catch (SpyglassException | RuntimeException e) {
                // Native or kernel frames refused for this one process (its rights, its threads): not sampled.
                LOG.debug("child process {} not sampled: {}", f.process().pid(), e.toString());
                f.process().ended();
                f.target().close();
            }
        }
        counting.out = out;
        for (int i = 0; i < members.size(); i++) {
            Member m = members.get(i);
            counting.process = m.process();
            try {
                m.source().poll(timestampNanos, mode, counting);
            } catch (ProcessGoneException e) {
                end(m, i--, e.getMessage());
                if (e.programReplaced()) {
                    watch.programReplaced(m.process());
                }
                if (m == root) {
                    rootGone = e;
                }
            } catch (SpyglassException | RuntimeException e) {
                if (m == root) {
                    throw e; // as without children: the session ends with the failure
                }
                // Mostly a process tearing its interpreter down as it exits; the summary shows it ended.
                LOG.debug("sampling child process {} failed: {}", m.process().pid(), e.toString());
                end(m, i--, e.toString());
            }
        }
        if (members.isEmpty() && watch.extinct()) {
            throw rootGone != null ? rootGone
                    : new ProcessGoneException(root.process().pid(), "process " + root.process().pid()
                            + " and the child processes followed exited");
        }
    }

    private void end(Member m, int index, String why) {
        LOG.debug("process {} no longer sampled: {}", m.process().pid(), why);
        members.remove(index);
        m.process().ended();
        m.source().close();
    }

    /** The processes sampled so far (the target first). */
    public List<FollowedProcess> processes() {
        return watch.processes();
    }

    public DescendantWatch watch() {
        return watch;
    }

    @Override
    public void close() {
        watch.close();
        for (Member m : members) {
            m.source().close();
        }
        members.clear();
    }

    /** Passes events on, counting the samples of the member being polled. */
    private static final class Counting implements EventBuffer {
        EventBuffer out;
        FollowedProcess process;

        @Override
        public void add(ProfileEvent event) {
            process.counted(1);
            out.add(event);
        }

        @Override
        public void tornSample() {
            out.tornSample();
        }

        @Override
        public void tornAtFirstRead(boolean recovered) {
            out.tornAtFirstRead(recovered);
        }
    }
}
