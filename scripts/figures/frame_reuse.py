# Two threads calling the same functions through ctypes (the GIL released at each call), so on CPython 2.7 - 3.10
# one thread's returned frame object (a code object's zombie frame) is often the other's next: a reader that meets
# it follows its f_back down the other thread's stack. Used by frame-reuse.sh; FrameReuseAcrossThreadsTest runs
# the same target.
import ctypes, threading, time
libc = ctypes.CDLL(None)
def checked(a):
    return a
def shared(n):
    return checked(libc.getpid()) + n
def root_a():
    n = 0
    while True:
        shared(n)
def root_b():
    n = 0
    while True:
        shared(n)
threading.Thread(target=root_a, name='A', daemon=True).start()
threading.Thread(target=root_b, name='B', daemon=True).start()
time.sleep(1e9)
