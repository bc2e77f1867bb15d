# 200 threads, each 20 Python frames deep, as a thread-per-request server's pool: most block (a lock they wait on with
# a timeout, a sleep), SPIN of them busy at the bottom (issue 16, "200 threads x depth 20 at 1 kHz in wall mode").
# Usage: many_threads.py SECONDS [THREADS=200] [DEPTH=20] [SPIN=0]
import sys, threading, time

secs = float(sys.argv[1])
threads = int(sys.argv[2]) if len(sys.argv) > 2 else 200
depth = int(sys.argv[3]) if len(sys.argv) > 3 else 20
spin = int(sys.argv[4]) if len(sys.argv) > 4 else 0
end = time.time() + secs
never = threading.Event()

def blocked(i):
    # alternate the two ways a server's idle thread waits: on a lock (futex) and in a sleep
    while time.time() < end:
        if i % 2:
            never.wait(0.5)
        else:
            time.sleep(0.5)

def busy(i):
    x = 0
    while time.time() < end:
        x += 1

def down(n, work, i):
    if n > 1:
        return down(n - 1, work, i)
    return work(i)

# threading's own three frames (_bootstrap, _bootstrap_inner, run) and the waiting function make four: down() makes
# the rest, so a sleeping thread is DEPTH frames deep (one waiting on the event two more: Event.wait, Condition.wait)
workers = [threading.Thread(target=down, args=(max(1, depth - 4), busy if i < spin else blocked, i), name="worker-%d" % i, daemon=True)
           for i in range(threads)]
for w in workers:
    w.start()
while time.time() < end:
    time.sleep(0.2)
