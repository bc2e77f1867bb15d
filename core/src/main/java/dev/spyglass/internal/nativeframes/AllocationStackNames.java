package dev.spyglass.internal.nativeframes;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.spyglass.Frame;
import dev.spyglass.ThreadStack;

/**
 * Names the stack of each probed allocation for {@link AllocationStacks}: the merged Python + native stack of its
 * entry (the way {@link PageFaultStacks} attributes a fault: the native stack unwound from the kernel's snapshot,
 * spliced with the thread's Python stack read at the tick when the thread stayed in the same functions, else that
 * Python stack under {@link Frame#NATIVE_FRAMES_UNKNOWN}; without native frames, that Python stack alone), interned
 * as a small id. What a probe record means (which call, which block) is {@link AllocationStacks}'s; this class
 * knows only threads, stacks and ids. Used from the polling thread only.
 */
final class AllocationStackNames {
    /** Null without native frames: Python stacks alone, no stack copied. */
    private final NativeSplice splice;
    private final Map<List<Frame>, Integer> stackIds = new HashMap<>();
    private final List<List<Frame>> stacks = new ArrayList<>();
    /** Per thread, its Python stack as the previous poll read it. */
    private final Map<Integer, List<Frame>> before = new HashMap<>();
    /** A stack's id → the id of the same stack under a marker frame, per marker. */
    private final Map<Frame, Map<Integer, Integer>> marked = new HashMap<>();
    private final Map<Site, Integer> sites = new HashMap<>();
    private long spliced;
    private long unspliced;
    private long unattributed;

    AllocationStackNames(NativeSplice splice) {
        this.splice = splice;
    }

    /** Within one poll: the same thread, call site and stack pointer are taken for the same stack. */
    private record Site(int tid, long ip, long sp) {
    }

    /** A new poll read the Python stacks anew: call sites seen before no longer name a stack. */
    void newPoll() {
        sites.clear();
    }

    /** The id of the stack of an allocation entered at {@code ip, sp, bp} on {@code tid}, the threads {@code now}. */
    int of(ListedThreads now, int tid, long ip, long sp, long bp, MemorySegment stack) {
        Site site = new Site(tid, ip, sp);
        Integer known = sites.get(site);
        if (known != null) {
            return known;
        }
        int id = intern(now, tid, ip, sp, bp, stack);
        sites.put(site, id);
        return id;
    }

    private int intern(ListedThreads now, int tid, long ip, long sp, long bp, MemorySegment stack) {
        int at = now.slot(tid);
        ThreadStack python = at < 0 ? null : now.stack(at);
        List<Frame> frames;
        List<Frame> last = before.get(tid);
        if (python == null && last != null) {
            unspliced++; // this tick's read was torn: the thread's previous stack, native frames unknown
            frames = new ArrayList<>(last.size() + 1);
            if (splice != null) {
                frames.add(Frame.NATIVE_FRAMES_UNKNOWN);
            }
            frames.addAll(last);
        } else if (python == null) {
            unattributed++;
            frames = List.of(Frame.NATIVE_FRAMES_UNKNOWN);
        } else if (splice == null) {
            frames = python.frames(); // Python frames only: no stack copied
        } else {
            frames = null;
            if (last != null && PageFaultStacks.sameFunctions(last, python.frames()) && stack.byteSize() > 0) {
                splice.unwind(ip, sp, bp, stack, sp);
                if (splice.merge(now.record(at), python.frames()) != StackSplicer.Outcome.TORN) {
                    spliced++;
                    frames = List.copyOf(splice.frames());
                }
            }
            if (frames == null) {
                unspliced++;
                List<Frame> f = new ArrayList<>(python.frames().size() + 1);
                f.add(Frame.NATIVE_FRAMES_UNKNOWN);
                f.addAll(python.frames());
                frames = f;
            }
        }
        return idOf(withoutLines(frames));
    }

    private int idOf(List<Frame> frames) {
        Integer id = stackIds.get(frames);
        if (id == null) {
            id = stacks.size();
            stacks.add(frames);
            stackIds.put(frames, id);
        }
        return id;
    }

    /** The id of stack {@code id} under {@code marker} ({@link Frame#PYMALLOC_ARENA}, {@link Frame#MAPPED}). */
    int under(Frame marker, int id) {
        return marked.computeIfAbsent(marker, m -> new HashMap<>()).computeIfAbsent(id, i -> {
            List<Frame> frames = new ArrayList<>(stacks.get(i).size() + 1);
            frames.add(marker);
            frames.addAll(stacks.get(i));
            return idOf(List.copyOf(frames));
        });
    }

    /** Keeps each thread's Python stack of this poll, for the next poll's torn reads and splices. */
    void remember(ListedThreads now) {
        int count = now.count();
        for (int i = 0; i < count; i++) {
            if (now.stack(i) != null) {
                before.put(now.tid(i), List.copyOf(now.stack(i).frames()));
            }
        }
        if (before.size() > 2 * count + 16) {
            before.keySet().removeIf(tid -> now.slot(tid) < 0);
        }
    }

    /**
     * The frames with the Python frames' lines and columns cleared: the lines read at the tick are not those of
     * the allocation (the thread ran on), so a stack is keyed by its functions.
     */
    static List<Frame> withoutLines(List<Frame> frames) {
        Frame[] out = new Frame[frames.size()];
        for (int i = 0; i < out.length; i++) {
            Frame f = frames.get(i);
            out[i] = f.kind() != Frame.FrameKind.PYTHON || f.line() == 0 && f.endLine() == 0 ? f
                    : new Frame(f.kind(), f.function(), f.qualifiedName(), f.file(), 0, 0, 0, 0, f.firstLine());
        }
        return List.of(out);
    }

    /** Stack {@code id}'s frames, innermost first. */
    List<Frame> stack(int id) {
        return stacks.get(id);
    }

    long spliced() {
        return spliced;
    }

    long unspliced() {
        return unspliced;
    }

    long unattributed() {
        return unattributed;
    }
}
