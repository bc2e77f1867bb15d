"""Time perf_event_open and close of PMU uprobes, as FunctionProbes opens them per thread (docs/performance.md,
docs/drilldown.md): an entry and a return probe on a function of an object, on a sleeping target thread,
opened disabled and closed, 20 rounds; with `keep`, a first pair stays open during the rounds (the same probe
kept by another consumer). As root:  python3 scripts/uprobe-open-close-cost.py PID OBJECT HEX_FILE_OFFSET [keep]
(e.g. `sleep 100 & python3 scripts/uprobe-open-close-cost.py $! /usr/lib/x86_64-linux-gnu/libc.so.6 <offset of
a function>`, the offset as `nm -D` prints it for an object whose text is mapped at its file offset)."""
import ctypes, os, struct, sys, time

SYS_PERF_EVENT_OPEN = 298  # x86-64
libc = ctypes.CDLL(None, use_errno=True)
pid, path, offset = int(sys.argv[1]), sys.argv[2].encode(), int(sys.argv[3], 16)
uprobe_type = int(open("/sys/bus/event_source/devices/uprobe/type").read())
path_buffer = ctypes.create_string_buffer(path)


def attr(on_return):
    a = bytearray(136)
    # type, size, config (bit 0: retprobe), sample_period, sample_type (TID | TIME)
    struct.pack_into("IIQQQ", a, 0, uprobe_type, 136, 1 if on_return else 0, 1, (1 << 1) | (1 << 2))
    struct.pack_into("Q", a, 40, 1)  # flags: disabled
    struct.pack_into("QQ", a, 56, ctypes.addressof(path_buffer), offset)  # uprobe_path, probe_offset
    return (ctypes.c_char * 136).from_buffer(a)


attrs = [attr(False), attr(True)]


def open_pair():
    fds = [libc.syscall(SYS_PERF_EVENT_OPEN, a, pid, -1, -1, 0) for a in attrs]
    if min(fds) < 0:
        sys.exit("perf_event_open: errno %d" % ctypes.get_errno())
    return fds


kept = open_pair() if len(sys.argv) > 4 and sys.argv[4] == "keep" else []
opening = closing = 0.0
for _ in range(20):
    t0 = time.perf_counter()
    fds = open_pair()
    t1 = time.perf_counter()
    for fd in fds:
        os.close(fd)
    t2 = time.perf_counter()
    opening += t1 - t0
    closing += t2 - t1
print("open 2 events: %.2f ms, close 2: %.2f ms (mean of 20 rounds)" % (opening / 20 * 1000, closing / 20 * 1000))
