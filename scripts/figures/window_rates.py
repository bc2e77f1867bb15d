# The loop's speed in each "on" window against the "off" window just before it (max-rate.sh): ITERS holds
# "time iterations" lines, WINDOWS "on|off NAME START END" lines. Prints each sampler's slowdowns and their median.
import bisect, statistics, sys

points = [tuple(map(float, line.split())) for line in open(sys.argv[1]) if line.strip()]
times = [p[0] for p in points]

def count_at(t):
    i = bisect.bisect_left(times, t)
    if i == 0 or i == len(points):
        raise SystemExit("window outside the target's log")
    (t0, c0), (t1, c1) = points[i - 1], points[i]
    return c0 + (c1 - c0) * (t - t0) / (t1 - t0)

def rate(a, b):
    return (count_at(b) - count_at(a)) / (b - a)

slowdowns, off = {}, None
for line in open(sys.argv[2]):
    kind, name, a, b = line.split()
    r = rate(float(a), float(b))
    if kind == "off":
        off = r
    else:
        slowdowns.setdefault(name, []).append(100.0 * (off / r - 1.0))
for name, values in slowdowns.items():
    print("  %-10s median %+.1f%%  (rounds: %s)" % (name, statistics.median(values), ", ".join("%+.1f%%" % v for v in values)))
