# A 0.5 s - N s busy loop in one function (issue 10 figures).
import time
def busy(seconds):
    end = time.time() + seconds
    x = 0
    while time.time() < end:
        x += 1
busy(float(__import__("sys").argv[1]))
