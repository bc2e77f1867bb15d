# One thread, 30 Python frames deep, busy at the bottom (issue 16 cadence figures); with "sleep", asleep there.
# Usage: depth30.py SECONDS [sleep]
import sys, time
SLEEP = sys.argv[2:] == ["sleep"]
def down(n, end):
    if n > 1:
        return down(n - 1, end)
    x = 0
    while time.time() < end:
        if SLEEP:
            time.sleep(0.1)
        x += 1
    return x
down(30, time.time() + float(sys.argv[1]))
