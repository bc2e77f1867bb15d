# Summarises native/gaps.py's files for stop-gaps.sh: per configuration, over the seconds a profiler was attached
# (less half a second at each end), the gaps per second of at least 4, 10 and 20 µs, and the gaps' p50 / p90 / p99.
# Usage: gap_table.py DIR REPS CONFIG...   (DIR holds CONFIG-ROUND.gaps, .window and, for Spyglass, .out)
import re
import sys


def load(base):
    with open(base + ".window") as f:
        start, end = (float(x) for x in f.read().split())
    start_ns, end_ns = int((start + 0.5) * 1e9), int((end - 0.5) * 1e9)
    gaps = []
    with open(base + ".gaps") as f:
        offset = int(f.readline().split()[1])
        for line in f:
            t, g = (int(x) for x in line.split())
            if start_ns <= t + offset <= end_ns:
                gaps.append(g)
    return gaps, (end_ns - start_ns) / 1e9


def pct(xs, p):
    return xs[min(len(xs) - 1, int(p / 100.0 * len(xs)))] if xs else 0


def stops(base):
    try:
        with open(base + ".out") as f:
            m = re.search(r"stopped ([\d,]+) times for native frames: median ([^,]+), p99 ([^,]+)", f.read())
    except OSError:
        return "—"
    if not m:
        return "—"
    return "%s, median %s, p99 %s" % (m.group(1), m.group(2), m.group(3))


def main():
    d, reps, configs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    print("| configuration | round | gaps/s ≥ 4 µs | ≥ 10 µs | ≥ 20 µs | gap p50 | p90 | p99 µs | sampler's stops |")
    print("|---|---|---|---|---|---|---|---|---|")
    for c in configs:
        for r in range(1, reps + 1):
            base = "%s/%s-%d" % (d, c, r)
            try:
                gaps, secs = load(base)
            except OSError:
                continue
            gaps.sort()
            n10 = sum(1 for g in gaps if g >= 10000)
            n20 = sum(1 for g in gaps if g >= 20000)
            print("| %s | %d | %.0f | %.0f | %.0f | %.1f | %.1f | %.1f | %s |" % (
                c, r, len(gaps) / secs, n10 / secs, n20 / secs, pct(gaps, 50) / 1e3, pct(gaps, 90) / 1e3,
                pct(gaps, 99) / 1e3, stops(base)))


if __name__ == "__main__":
    main()
