# THREADS threads, each DEPTH Python frames deep, spinning at the bottom for SECONDS (issue 16, max-rate figures).
# With a fourth argument, thread 0 also writes "time iterations" every 0.1 s to that file, so a script can compare
# the loop's speed while a sampler is attached with its speed while none is (paired on/off windows).
import sys, threading, time

threads, depth, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
log = open(sys.argv[4], "w", buffering=1) if len(sys.argv) > 4 else None
end = time.time() + seconds

def down(n, first):
    if n > 1:
        return down(n - 1, first)
    x = 0
    mark = time.time() + 0.1
    while True:
        for _ in range(1000):
            x += 1
        now = time.time()
        if now >= end:
            return x
        if first and log and now >= mark:
            log.write("%.4f %d\n" % (now, x))
            mark = now + 0.1

others = [threading.Thread(target=down, args=(depth, False)) for _ in range(threads - 1)]
for t in others:
    t.start()
down(depth, True)
for t in others:
    t.join()
