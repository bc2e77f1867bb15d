# Shares of named functions in a collapsed file written with --collapsed-weights (microseconds).
import sys
tot = 0; parts = {}
names = sys.argv[2:]
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if not line: continue
    stack, w = line.rsplit(" ", 1); w = int(w); tot += w
    for n in names:
        if n in stack: parts[n] = parts.get(n, 0) + w
named = sum(parts.values()) or 1
print("weights total %.3f s;" % (tot / 1e6), " ".join("%s=%.3f s (%.1f%% of all, %.1f%% of the named)" % (n, parts.get(n, 0) / 1e6, 100.0 * parts.get(n, 0) / tot, 100.0 * parts.get(n, 0) / named) for n in names))
