# Four threads calling the same functions through ctypes (the GIL released at each call), so on CPython 2.7 - 3.10
# one thread's returned frame object (a code object's zombie frame) is often another's next: a reader that meets
# it follows its f_back down that other thread's stack. Used by frame-reuse.sh; FrameReuseAcrossThreadsTest runs
# the same target.
import ctypes, threading, time
libc = ctypes.CDLL(None)
def checked(a):
    return a
def shared(n):
    return checked(libc.getpid()) + n
def make_root(name):
    # One code object per thread, so a stack names its thread's root function.
    src = "def root_%s():\n    n = 0\n    while True:\n        shared(n)\n" % name
    exec(src, globals())
    return globals()["root_" + name]
for name in "abcd":
    threading.Thread(target=make_root(name), name=name.upper(), daemon=True).start()
time.sleep(1e9)
