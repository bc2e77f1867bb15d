# -*- coding: utf-8 -*-
# Target of MemoryImageCapture (core tests): two threads parked at known stacks, blocked in
# time.sleep (a C call), so every look at them sees the same frames. Runs on 2.7 and 3.x.
#
# usage: replay_target.py TRUTH_FILE [UNICODE_MODULE]
# Writes TRUTH_FILE (the stacks as Python itself sees them, through sys._current_frames()) and then
# prints "ready". The capture helper checks the reader's frames against TRUTH_FILE.
import os
import sys
import threading
import time

TRUTH = sys.argv[1]
UNICODE_MODULE = sys.argv[2] if len(sys.argv) > 2 else None
extra = None


def leaf_sleep(parked):
    parked.set()
    while True:
        time.sleep(3600)  # PARK


def inner(parked):
    leaf_sleep(parked)


def middle(parked):
    inner(parked)


def outer(parked):
    middle(parked)


class Worker(object):
    def ticks(self, parked):
        # A generator frame on the stack (3.11+: its frame lives in the generator, not the data stack).
        while True:
            descend(parked)
            yield 1

    def run(self, parked):
        for _ in self.ticks(parked):
            pass


def descend(parked):
    if extra is not None:
        # 3.x: a coroutine frame and non-ASCII function and file names on the way down.
        extra['drive'](parked, leaf_sleep)
    else:
        leaf_sleep(parked)


def describe(frame):
    lines = []
    f = frame
    while f is not None:
        code = f.f_code
        name = getattr(code, 'co_qualname', code.co_name)
        lines.append('%s (%s:%d)' % (name, code.co_filename, f.f_lineno))
        f = f.f_back
    return lines


def report(events):
    for e in events:
        e.wait()
    me = threading.current_thread().ident
    previous = None
    while True:
        # The parked threads set their event just before they sleep: wait until two dumps agree.
        time.sleep(0.2)
        snap = sorted((ident, describe(f)) for ident, f in sys._current_frames().items() if ident != me)
        if snap == previous:
            break
        previous = snap
    natives = dict((t.ident, getattr(t, 'native_id', -1)) for t in threading.enumerate())
    out = []
    for ident, lines in snap:
        out.append('thread %d %d' % (ident, natives.get(ident, -1) or -1))
        out.extend(lines)
        out.append('end')
    data = '\n'.join(out) + '\n'
    if not isinstance(data, bytes):
        data = data.encode('utf-8')
    tmp = TRUTH + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(data)
    os.rename(tmp, TRUTH)
    sys.stdout.write('ready\n')
    sys.stdout.flush()


if UNICODE_MODULE and sys.version_info[0] >= 3:
    extra = {}
    with open(UNICODE_MODULE, 'rb') as source:
        exec(compile(source.read(), UNICODE_MODULE, 'exec'), extra)

main_parked = threading.Event()
worker_parked = threading.Event()
worker = threading.Thread(target=Worker().run, args=(worker_parked,), name='worker')
worker.daemon = True
worker.start()
reporter = threading.Thread(target=report, args=([main_parked, worker_parked],), name='reporter')
reporter.daemon = True
reporter.start()
outer(main_parked)
