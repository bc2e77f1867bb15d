package dev.spyglass.internal.python;

import dev.spyglass.SamplingMode;
import java.util.ArrayList;
import java.util.List;

import dev.spyglass.Frame;
import dev.spyglass.SpyglassException;
import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.cpython.abi.PythonVersion;
import dev.spyglass.internal.image.CapturedImage;
import dev.spyglass.internal.image.MemoryImage;
import dev.spyglass.internal.image.ReplayMemory;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * What the replay tests and the capture helper share: the located interpreter rebuilt from an image
 * (the layout comes from {@link LayoutResolver} over the replayed memory, so 3.13+ images are read
 * with the {@code _Py_DebugOffsets} they carry), one look as plain values, and an independent walk of
 * the thread and frame links (used to find the bytes the negative tests remove or corrupt).
 */
final class ImageReplay {
    private ImageReplay() {
    }

    static PythonVersion version(CapturedImage image) {
        return PythonVersion.parse(image.version())
                .orElseThrow(() -> new IllegalArgumentException("image " + image.label() + ": version "
                        + image.version() + " does not parse"));
    }

    /** The interpreter as the capture located it, with the layout rebuilt from {@code memory}. */
    static LocatedInterpreter locate(CapturedImage image, RemoteMemory memory) throws SpyglassException {
        Layout layout = LayoutResolver.layoutFor(image.pid(), version(image), image.runtimeAddress(), memory,
                image.objectPath());
        return locate(image, layout);
    }

    /** The interpreter as the capture located it, read with {@code layout} (a test may pass a wrong one). */
    static LocatedInterpreter locate(CapturedImage image, Layout layout) {
        return new LocatedInterpreter(image.objectPath(), image.loadBias(), layout.version(), image.versionSource(),
                layout, image.runtimeAddress(), image.headAddress(), image.headSource(), image.tstateCurrentAddress(),
                image.codeTypeAddress());
    }

    /** One look of {@code reader}, with the reads it cost on {@code memory}. */
    static CapturedImage.Look look(StackReader reader, RemoteMemory memory) throws SpyglassException {
        long before = memory.syscalls();
        int n = reader.read(SamplingMode.WALL);
        long cost = memory.syscalls() - before;
        List<CapturedImage.ThreadLook> threads = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            ThreadRecord r = reader.thread(i);
            List<String> frames = new ArrayList<>();
            for (Frame f : r.frameList()) {
                frames.add(f.toString());
            }
            threads.add(new CapturedImage.ThreadLook(r.pythonThreadId(), r.nativeThreadId(), r.interpreterId(),
                    r.torn(), frames));
        }
        return new CapturedImage.Look(cost, threads);
    }

    /** Replays {@code image} through a fresh reader: {@code looks} looks, each as {@link #look} gives it. */
    static List<CapturedImage.Look> replay(CapturedImage image, int looks) throws SpyglassException {
        try (ReplayMemory memory = new ReplayMemory(image.pid(), image.memory());
                StackReader reader = new StackReader(image.pid(), memory, locate(image, memory), null)) {
            List<CapturedImage.Look> out = new ArrayList<>();
            for (int i = 0; i < looks; i++) {
                out.add(look(reader, memory));
            }
            return out;
        }
    }

    /** The torn reasons of the latest look of {@code reader}, by position (null where not torn). */
    static List<String> tornReasons(StackReader reader) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < reader.count(); i++) {
            out.add(reader.thread(i).torn() ? String.valueOf(reader.thread(i).tornReason()) : null);
        }
        return out;
    }

    /**
     * A thread's frame chain as the raw links give it: {@code frames.get(0)} is the innermost frame
     * ({@code PyFrameObject*} up to 3.10, {@code _PyInterpreterFrame*} from 3.11, shim and entry frames
     * included), {@code linkOffset} the offset of the link to the next ({@code f_back} / {@code previous}).
     */
    record Chain(long pythonThreadId, long tstate, List<Long> frames, long linkOffset, long datastackChunk) {
    }

    /**
     * Follows head → interpreter → thread states → frame links in the image, with the layout only (not
     * the reader under test). Stops at a missing word, a null link or 10,000 frames.
     */
    static List<Chain> chains(MemoryImage image, LocatedInterpreter loc) {
        Layout layout = loc.layout();
        List<Chain> out = new ArrayList<>();
        long interp = image.getLong(loc.headAddress());
        long tstate = image.getLong(interp + layout.require(Field.INTERP_TSTATE_HEAD));
        boolean frames311 = layout.has(Field.IFRAME_PREVIOUS);
        long link = frames311 ? layout.require(Field.IFRAME_PREVIOUS) : layout.require(Field.FRAME_BACK);
        while (tstate != 0 && out.size() < 64) {
            long tid = image.getLong(tstate + layout.require(Field.TSTATE_THREAD_ID));
            long top;
            if (layout.has(Field.TSTATE_FRAME)) {
                top = image.getLong(tstate + layout.require(Field.TSTATE_FRAME));
            } else if (layout.has(Field.TSTATE_CFRAME)) {
                // 3.11, 3.12: the current frame hangs off the C frame record.
                long cframe = image.getLong(tstate + layout.require(Field.TSTATE_CFRAME));
                top = image.getLong(cframe + layout.require(Field.CFRAME_CURRENT_FRAME));
            } else {
                top = image.getLong(tstate + layout.require(Field.TSTATE_CURRENT_FRAME));
            }
            List<Long> frames = new ArrayList<>();
            for (long f = top; f != 0 && frames.size() < 10_000 && image.contains(f + link, 8);
                    f = image.getLong(f + link)) {
                frames.add(f);
            }
            long chunk = frames311 ? image.getLong(tstate + layout.require(Field.TSTATE_DATASTACK_CHUNK)) : 0;
            out.add(new Chain(tid, tstate, frames, link, chunk));
            tstate = image.getLong(tstate + layout.require(Field.TSTATE_NEXT));
        }
        return out;
    }
}
