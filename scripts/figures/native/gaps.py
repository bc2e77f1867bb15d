# The target's own view of a stop (issue 11): one thread spins reading CLOCK_MONOTONIC and records every gap
# between two consecutive reads longer than 4 µs, i.e. every time it did not run: a ptrace stop, and also an
# interrupt, a preemption or the hypervisor taking the CPU (the no-profiler runs measure those).
# The spin sits under a recursion DEPTH frames deep, so that a sampler has a real stack to read.
# Usage: gaps.py SECONDS OUT [DEPTH]
# Writes OUT as lines "MONOTONIC_NS_AT_GAP_END GAP_NS"; its first line is "offset REALTIME_NS - MONOTONIC_NS", so
# that a script can keep the gaps of the seconds a profiler was attached (date +%s.%N on its side).
import sys
import time

THRESHOLD_NS = 4000


def deep(n, f):
    if n > 1:
        return deep(n - 1, f)
    return f()


def spin(seconds):
    pc = time.perf_counter_ns  # CLOCK_MONOTONIC on Linux
    gaps = []
    add = gaps.append
    last = pc()
    end = last + int(seconds * 1e9)
    while True:
        t = pc()
        if t - last > THRESHOLD_NS:
            add((t, t - last))
            if t > end:
                return gaps
        last = t


if __name__ == "__main__":
    seconds = float(sys.argv[1])
    out = sys.argv[2]
    depth = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    offset = time.time_ns() - time.perf_counter_ns()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    gaps = deep(depth, lambda: spin(seconds))
    with open(out, "w") as f:
        f.write("offset %d\n" % offset)
        for t, g in gaps:
            f.write("%d %d\n" % (t, g))
