# Steady CPU work for the native-frames figures: prints the iterations done in each second, for N seconds.
# One iteration: a little pure Python, then sorted() with a Python key (a C call that calls back into
# Python), at the bottom of a recursion DEPTH frames deep so that a sampler has a real stack to walk.
# Usage: throughput.py SECONDS [DEPTH]
# Prints one line "iterations/s RATE UNIX_TIME" per second (the rate over the second that ends at that
# time, so that a script can keep the seconds a profiler was attached), then "done".
import sys
import time

DATA = [(i * 7919) % 1009 for i in range(200)]


def key(x):
    return -x


def work():
    total = 0
    for x in DATA[:50]:
        total += x * x
    return sorted(DATA, key=key)[0] + total


def deep(n, seconds):
    if n > 1:
        return deep(n - 1, seconds)
    start = time.monotonic()
    end = start + seconds
    done = 0
    while True:
        work()
        done += 1
        if done & 15 == 0:
            now = time.monotonic()
            if now >= start + 1.0:
                print("iterations/s %.0f %.3f" % (done / (now - start), time.time()), flush=True)
                done = 0
                start = now
                if now >= end:
                    return


if __name__ == "__main__":
    seconds = float(sys.argv[1])
    depth = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    sys.setrecursionlimit(max(1000, depth + 100))
    deep(depth, seconds)
    print("done", flush=True)
