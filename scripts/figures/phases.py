# Two phases alternating (numpy argsort, a pure-Python loop) that time themselves (issue 10 figures).
import sys, time, json
import numpy as np

def argsort_phase(seconds):
    a = np.random.default_rng(1).random(2_000_000)
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        np.argsort(a)

def python_phase(seconds):
    end = time.perf_counter() + seconds
    x = 0
    while time.perf_counter() < end:
        for i in range(1000):
            x += i * i
    return x

def main():
    times = {"argsort_phase": 0.0, "python_phase": 0.0}
    t0 = time.perf_counter()
    for _ in range(3):
        for f, s in ((argsort_phase, 1.5), (python_phase, 1.7)):
            s0 = time.perf_counter(); f(s); times[f.__name__] += time.perf_counter() - s0
    total = time.perf_counter() - t0
    with open(sys.argv[1], "w") as out:
        json.dump({"total": total, **times}, out)

main()
