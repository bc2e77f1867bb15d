# Deep pure-Python recursion entered and left all the time (torn-read figures): the main thread goes 60
# calls down and back up in a loop, so a read of its stack races its frame pushes and pops.
import sys, time
def down(n):
    if n == 0:
        x = 0
        for i in range(20):
            x += i
        return x
    return down(n - 1) + 1
end = time.time() + float(sys.argv[1])
while time.time() < end:
    down(60)
