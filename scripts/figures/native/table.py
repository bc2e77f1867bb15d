# The markdown table of native-frames.sh from the files of its runs: WORK/CONFIG-ROUND.{rates,window,json,time,out}.
# Usage: table.py WORK ROUNDS CONFIG...
import json
import os
import re
import statistics
import sys

NAMES = {
    "none": "no profiler",
    "up100": "unwind-ptrace 100 Hz (libunwind-ptrace)",
    "up1000": "unwind-ptrace 1000 Hz (libunwind-ptrace)",
    "up100rt": "unwind-ptrace 100 Hz, SCHED_FIFO (chrt -f 10)",
    "sg10": "spyglass record --native -i 10ms",
    "sg1": "spyglass record --native -i 1ms",
    "py10": "spyglass record -i 10ms (Python frames only)",
    "py1": "spyglass record -i 1ms (Python frames only)",
    "k10": "spyglass record --kernel -i 10ms",
    "k1": "spyglass record --kernel -i 1ms",
    "ns10": "spyglass record --native=nonstop -i 10ms",
    "ns1": "spyglass record --native=nonstop -i 1ms",
    "ap10": "austinp -s -i 10ms",
    "ap1": "austinp -s -i 1ms",
}

work, rounds, configs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]


def read(path):
    return open(path).read() if os.path.exists(path) else ""


def window_rate(f):
    """Median of the target's per-second rates over the seconds that lie wholly inside the profiler's window."""
    times = read(f + ".window").split()
    if len(times) < 2:
        return None
    start, end = float(times[0]), float(times[1])
    rates = []
    for line in read(f + ".rates").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "iterations/s":
            rate, t = float(parts[1]), float(parts[2])
            if t - 1.0 >= start and t <= end:
                rates.append(rate)
    return statistics.median(rates) if rates else None


def sampler_cpu(f):
    """The profiler's CPU seconds per second of its window (user + system, from /usr/bin/time)."""
    m = re.search(r"cpu ([\d.]+) ([\d.]+)", read(f + ".time"))
    times = read(f + ".window").split()
    if not m or len(times) < 2:
        return None
    return (float(m.group(1)) + float(m.group(2))) / (float(times[1]) - float(times[0]))


def stops(c, f):
    """(samples/s, stop p50 µs, stop p99 µs, note) as far as the profiler tells them."""
    if c.startswith("up"):
        line = read(f + ".json").strip()
        if not line:
            return None, None, None, ""
        d = json.loads(line)
        return d["samples"] / d["wall_s"], d["stop_p50_us"], d["stop_p99_us"], "max %.0f µs, %d frames" % (d["stop_max_us"], d["frames_median"])
    out = read(f + ".out")
    if c.startswith(("sg", "py", "k", "ns")):
        rate = re.search(r"([\d,.]+) ticks/s achieved", out)
        stop = re.search(r"(?:stopped p50|native frames: median) ([\d,.]+) ?(ns|µs|us|ms)?\D*?p99 ([\d,.]+) ?(ns|µs|us|ms)?", out)
        num = lambda s: float(s.replace(",", ""))
        us = lambda v, unit: num(v) * {"ns": 0.001, "ms": 1000.0}.get(unit, 1.0)  # no unit: taken as µs
        return (num(rate.group(1)) if rate else None, us(stop.group(1), stop.group(2)) if stop else None,
                us(stop.group(3), stop.group(4)) if stop else None, "")
    if c.startswith("ap"):
        # austinp's own statistics: the time to take one sample (all threads stopped, unwound, resumed).
        out = re.sub(r"\x1b\[[0-9;]*m", "", out)
        m = re.search(r"Frame sampling \(min/avg/max\) : (\d+)/(\d+)/(\d+)", out)
        n = re.search(r"Error rate : (\d+)/(\d+)", out)
        d = re.search(r"Sampling duration : ([\d.]+) s", out)
        samples = int(n.group(2)) / float(d.group(1)) if n and d and float(d.group(1)) > 0 else None
        note = ("one sample min/avg/max %s/%s/%s µs" % m.groups()) if m else "no statistics"
        if n and d:
            note += ", %s of %s samples invalid, sampled for %s s" % (n.group(1), n.group(2), d.group(1))
        return samples, None, None, note
    return None, None, None, ""


def fmt(x, digits=0):
    return "n/a" if x is None else ("{:,.%df}" % digits).format(x)


D = None
rows = {}
for c in configs:
    rates, cpus, p50s, p99s, sps, notes = [], [], [], [], [], []
    for r in range(1, rounds + 1):
        f = os.path.join(work, "%s-%d" % (c, r))
        times = read(f + ".window").split()
        D = float(times[1]) - float(times[0]) if len(times) == 2 else None
        rate = window_rate(f)
        if rate is not None:
            rates.append(rate)
        cpu = sampler_cpu(f)
        if cpu is not None:
            cpus.append(cpu)
        s, p50, p99, note = stops(c, f)
        for v, into in ((s, sps), (p50, p50s), (p99, p99s)):
            if v is not None:
                into.append(v)
        if note:
            notes.append(note)
    med = lambda xs: statistics.median(xs) if xs else None
    rows[c] = (rates, med(rates), med(sps), med(p50s), med(p99s), med(cpus), notes)

base_runs, base = rows["none"][0], rows["none"][1]
print()
if base and len(base_runs) > 1:
    lo, hi = min(base_runs), max(base_runs)
    print("Noise floor: the %d no-profiler runs span %s – %s iterations/s, %.1f%% of their median (%s)."
          % (len(base_runs), fmt(lo), fmt(hi), 100.0 * (hi - lo) / base, ", ".join(fmt(x) for x in base_runs)))
print()
print("| configuration | samples/s | target iterations/s (median of runs) | runs | slowdown vs no profiler | stop p50 µs | stop p99 µs | profiler CPU, core-s/s |")
print("|---|---|---|---|---|---|---|---|")
for c in configs:
    rates, m, s, p50, p99, cpu, notes = rows[c]
    slow = "—" if c == "none" or not base or m is None else "%.1f%%" % (100.0 * (base - m) / base)
    print("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
        NAMES.get(c, c), "—" if c == "none" else fmt(s), fmt(m), " / ".join(fmt(x) for x in rates), slow,
        fmt(p50, 1) if c != "none" else "—", fmt(p99, 1) if c != "none" else "—", "—" if c == "none" else fmt(cpu, 2)))
print()
for c in configs:
    if rows[c][6]:
        print("- %s: %s" % (NAMES.get(c, c), "; ".join(rows[c][6])))
