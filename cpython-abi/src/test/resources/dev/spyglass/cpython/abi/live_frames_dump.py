# Oracle for LiveFrameLineTest. Runs on CPython 2.7 and 3.6+: captures real frames in the states a
# sampler meets (callers in the middle of multi-line calls, comprehensions, with/try/except/finally
# blocks, class bodies, lambdas, suspended and unstarted generators, a coroutine, yield from) and
# prints, per frame, its code object's line table and first line, f_lasti (a BYTE offset in every
# version as Python exposes it: 3.10 multiplies the code-unit count by 2, 3.11+ computes
# (prev_instr|instr_ptr - co_code_adaptive) * 2; -1 before the first instruction) and f_lineno, which
# is PyCode_Addr2Line / PyUnstable_InterpreterFrame_GetLine of that offset when not tracing.
import sys, json

V = sys.version_info[:2]
records = []
tables = {}


def table_of(co):
    t = co.co_linetable if V >= (3, 10) else co.co_lnotab
    return ''.join('%02x' % b for b in bytearray(t))


def record(frame, state):
    co = frame.f_code
    key = '%s:%d:%d' % (co.co_name, co.co_firstlineno, id(co))
    tables[key] = {'table': table_of(co), 'first': co.co_firstlineno, 'name': co.co_name}
    records.append({'code': key, 'lasti': frame.f_lasti, 'lineno': frame.f_lineno, 'state': state})


def capture(state):
    f = sys._getframe(1)
    while f is not None:
        record(f, state)
        f = f.f_back
    return 1


SRC = '''
def helper(*args):
    return capture("stack")

def multi_line_call(a):
    x = [1,
         helper(a,
                a),
         3]
    return x

def in_comprehension(xs):
    return [helper(x)
            for x in xs]

def in_handlers():
    try:
        raise ValueError("x")
    except ValueError:
        helper()
    finally:
        helper(
            1)

class Body(object):
    v = helper()

def with_block():
    class Ctx(object):
        def __enter__(self):
            helper()
            return self
        def __exit__(self, *a):
            helper()
    with Ctx() as c:
        helper(c)

lam = lambda: (0 +
               helper())

def deco(f):
    helper()
    return f

@deco
def decorated():
    pass

def gen(n):
    yield 1
    for i in range(n):
        yield (i +
               helper())
    return

def run_all():
    multi_line_call(1)
    in_comprehension([1, 2])
    in_handlers()
    with_block()
    lam()
    for _ in gen(2):
        pass
'''

PY3 = '''
def inner_gen():
    yield helper()
    yield 2

def outer_gen():
    yield from inner_gen()

async def coro():
    helper()
    return 5

def run_py3():
    list(outer_gen())
    c = coro()
    try:
        c.send(None)
    except StopIteration:
        pass
'''

ns = {'capture': capture}
exec(compile(SRC, '<live-frames>', 'exec'), ns)
ns['run_all']()
if V >= (3, 6):
    exec(compile(PY3, '<live-frames-3>', 'exec'), ns)
    ns['run_py3']()

# Suspended generators at each yield, and one that has not started.
g = ns['gen'](3)
record(g.gi_frame, 'unstarted generator')
for i in range(3):
    next(g)
    record(g.gi_frame, 'suspended generator %d' % i)

sys.stdout.write(json.dumps({'hexversion': sys.hexversion, 'codes': tables, 'frames': records}))
sys.stdout.write('\n')
