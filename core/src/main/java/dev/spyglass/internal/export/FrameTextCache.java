package dev.spyglass.internal.export;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;

import dev.spyglass.Frame;

/**
 * A frame's rendering in a text format, computed once per distinct frame: a steady-state sample then costs
 * map look-ups and appends instead of escaping the same names again (measured by ExporterBenchmark). Bounded:
 * past {@link #MAX_ENTRIES} distinct frames new ones are rendered each time.
 */
final class FrameTextCache {
    static final int MAX_ENTRIES = 1 << 16;

    private final Function<Frame, String> render;
    private final Map<Frame, String> cache = new HashMap<>();

    FrameTextCache(Function<Frame, String> render) {
        this.render = render;
    }

    String text(Frame frame) {
        String t = cache.get(frame);
        if (t == null) {
            t = render.apply(frame);
            if (cache.size() < MAX_ENTRIES) {
                cache.put(frame, t);
            }
        }
        return t;
    }
}
