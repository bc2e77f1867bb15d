"""CPU-bound work: the demo's hot function lives here."""
import time


def is_prime(n):
    if n < 2:
        return False
    i = 2
    while i * i <= n:
        if n % i == 0:
            return False
        i += 1
    return True


def count_primes(limit):
    """The hot function: trial division, on purpose slow."""
    return sum(1 for n in range(limit) if is_prime(n))


def summarise(results):
    return ", ".join("%s=%s" % (k, results[k]) for k in sorted(results))


def report_loop(deadline, results):
    """A mostly idle thread: wakes up a few times a second to summarise."""
    while time.time() < deadline:
        time.sleep(0.25)
        results["summary"] = summarise(results)
