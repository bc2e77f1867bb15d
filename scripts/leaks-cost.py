"""Allocation-heavy loop for the cost of `spyglass leaks` (docs/performance.md): prints, every 0.5 s, how many
loop iterations ran (each allocates and frees a 2-item list, a small object and an int; with a second argument
`big`, also a 1,000-byte bytes object, over pymalloc's 512-byte limit: a raw block, which the coarse level sees;
with `grow`, the small objects are kept, in a list emptied at every 1,000,000: pymalloc takes a new arena about
every 10,000 iterations and gives them back at each emptying, which the coarse level's arena probes see; with
`map`, each iteration also maps and unmaps 64 KiB with mmap.mmap(-1, 65536), which the coarse level's mmap probes
see; with `batch`, each iteration also builds a chain of 400 small tuples (and ints) and drops it, so pymalloc empties pools and
takes them again at every turn: the worst case of the pools level's refill probe).
Run it, attach `spyglass leaks -p PID -d 5s [--level coarse]` during part of the run and compare the rates with the
probes on and off."""
import mmap, sys, time

class Obj(object):
    __slots__ = ("a",)
    def __init__(self, a):
        self.a = a

BIG = len(sys.argv) > 2 and sys.argv[2] == "big"
GROW = len(sys.argv) > 2 and sys.argv[2] == "grow"
MAP = len(sys.argv) > 2 and sys.argv[2] == "map"
BATCH = len(sys.argv) > 2 and sys.argv[2] == "batch"

def loop():
    i = 1000
    kept = []
    while True:
        x = [Obj(i), bytes(1000) if BIG else None]
        i += 1
        if GROW:
            kept.append(x)
            if len(kept) >= 1000000:
                kept = []
        del x
        if MAP:
            mmap.mmap(-1, 65536).close()
        if BATCH:
            b = None  # a chain of 400 2-item tuples, each with a new int: no block over 512 bytes
            for j in range(400):
                b = (b, i + j)
            del b
        yield

sys.stdout.write("ready\n"); sys.stdout.flush()
g = loop()
end = time.time() + float(sys.argv[1]) if len(sys.argv) > 1 else 1e18
while time.time() < end:
    t0 = time.time(); n = 0
    while time.time() - t0 < 0.5:
        for _ in range(1000):
            next(g)
        n += 1000
    sys.stdout.write("%.3f %d\n" % (t0, n)); sys.stdout.flush()
