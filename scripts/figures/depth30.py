# One thread, 30 Python frames deep, busy at the bottom (issue 16 cadence figures).
import sys, time
def down(n, end):
    if n > 1:
        return down(n - 1, end)
    x = 0
    while time.time() < end:
        x += 1
    return x
down(30, time.time() + float(sys.argv[1]))
