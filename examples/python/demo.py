"""Spyglass demo: a small program with a hot function, worker threads and I/O waits.

Runs for about DEMO_SECONDS seconds (default 4) on any Python 3:

    python3 examples/python/demo.py [seconds]
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from demoapp import analytics, pipeline  # noqa: E402


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else float(os.environ.get("DEMO_SECONDS", "4"))
    deadline = time.time() + seconds
    results = {}

    fetcher = threading.Thread(target=pipeline.fetch_loop, args=(deadline, results), name="fetcher")
    reporter = threading.Thread(target=analytics.report_loop, args=(deadline, results), name="reporter")
    fetcher.start()
    reporter.start()

    # The main thread does the heavy lifting: it is where most of the CPU goes.
    batches = 0
    while time.time() < deadline:
        results["primes"] = analytics.count_primes(20000)
        results["words"] = pipeline.transform_batch(batches)
        batches += 1

    fetcher.join()
    reporter.join()
    print("demo: %d batches, %d primes below 20000, %d fetches"
          % (batches, results.get("primes", 0), results.get("fetches", 0)))


if __name__ == "__main__":
    main()
