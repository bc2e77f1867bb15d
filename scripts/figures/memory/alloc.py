# An allocation-heavy loop for scripts/figures/memory-cost.sh: each unit of work builds 2,000 small strings in a
# list and a zeroed 256 KiB bytearray, then drops both. Prints, at the end, the units done, the wall time, and
# the process's own CPU time (user + system: the kernel's work for perf samples taken in the target counts here).
import os, sys, time

def unit():
    small = [str(i) * 10 for i in range(2000)]
    big = bytearray(256 * 1024)
    return len(small) + len(big)

seconds = float(sys.argv[1])
c0 = os.times()
t0 = time.time()
n = 0
while time.time() - t0 < seconds:
    unit()
    n += 1
c1 = os.times()
cpu = (c1[0] - c0[0]) + (c1[1] - c0[1])
sys.stderr.write('units %d wall %.3f cpu %.3f\n' % (n, time.time() - t0, cpu))
