# Oracle for LineTableOracleTest. Runs on CPython 2.7 and 3.6+: compiles a corpus of varied
# constructs, walks every code object (co_consts recursively) and prints one JSON document with, per
# code object, the raw line table and what THIS interpreter reports for every offset:
#   lines      per byte offset: dis.findlinestarts (<= 3.9) or co_lines() (3.10+), None -> -1
#   positions  per code unit, 3.11+: co_positions(), None -> -1
#   addr2line  [offset, PyCode_Addr2Line(co, offset)] for sampled offsets, called through ctypes
#   addr2loc   [offset, line, endline, col, endcol] from PyCode_Addr2Location (3.11+), sampled
import sys, json, types, dis, ctypes

V = sys.version_info[:2]

BASE = '''
import os

def simple(a, b):
    c = a + b
    return c

def deco(f):
    return f

@deco
@deco
def decorated(x):
    return x * 2

def loops(n):
    total = 0
    for i in range(n):
        if i % 2:
            total += i
        else:
            total -= 1
    while total > 0:
        total -= 3
    return total

def multi_line_expr(a, b, c):
    return (a +
            b *
            c) + f2(
        a,
        b,
    )

def f2(*args):
    return len(args)

def comprehensions(xs):
    a = [x * 2 for x in xs if x]
    b = dict((x, x) for x in xs)
    c = set(x
            for x in xs
            if x)
    return a, b, c

def nested(a):
    def inner(b):
        def innermost(c):
            return a + b + c
        return innermost
    return inner

lam = lambda x: (x +
                 1)

def exc(x):
    try:
        y = 1 / x
    except ZeroDivisionError:
        y = 0
    finally:
        x = None
    return y

class Klass(object):
    attr = 1
    def method(self):
        return self.attr
    class Inner(object):
        def m(self):
            return [self,
                    2]
'''

PY3 = '''
def kwonly(a, *, b=1):
    return {x: x for x in (a, b)}

def naive_names(naive_x):
    s = 'na\u00efve_\u00df ' + str(naive_x) + '\u51fd\u6570'; t = s + s
    return t

async def coro(x):
    await x
    async with x as y:
        pass
    async for z in y:
        pass
    return [i async for i in x]

def fstrings(a, b):
    return f"{a!r} and {b:>10} and {
a}" if False else f"{a}{b}"
'''.replace('f"{a!r} and {b:>10} and {\na}"', 'f"{a!r} and {b:>10}"')

PY38 = '''
def walrus(xs):
    if (n := len(xs)) > 3:
        return n
    return [y for x in xs if (y := x * 2)]
'''

PY310 = '''
def matcher(cmd):
    match cmd:
        case [x, y]:
            return x
        case {"k": v}:
            return v
        case Klass(attr=1) | None:
            return 0
        case _:
            return -1
'''

PY311 = '''
def groups(e):
    try:
        raise e
    except* ValueError as g:
        r = g
    except* TypeError:
        r = None
    return r
'''

PY312 = '''
def generic[T](x: T) -> T:
    return x

type Alias = list[int]
'''


def generated():
    parts = []
    # Line jumps larger than 127 and 255 lines, forward.
    parts.append('def jumps(a):\n    a += 1\n' + '\n' * 130 + '    a += 2\n' + '\n' * 300
                 + '    a += 3\n' + '\n' * 5000 + '    return a\n')
    # Negative jumps: a list displayed over 300 lines (BUILD_LIST belongs to the first line), and a
    # call whose arguments are far below the callee.
    items = ''.join('        %d,\n' % i for i in range(300))
    parts.append('def negative(f):\n    x = [\n' + items + '    ]\n    return f(\n' + '\n' * 400
                 + '        x,\n    )\n')
    # One line producing more than 255 bytes of bytecode.
    parts.append('def wide(a):\n    return [' + ', '.join('a + %d' % i for i in range(200)) + ']\n')
    # Columns beyond 127 and 255 on one line (3.11 short, one-line and long forms).
    parts.append('def columns(a):\n    return ' + ' + '.join('a * %d' % i for i in range(120)) + '\n')
    # A function spanning more than 4096 lines with more than 4096 bytes of code.
    parts.append('def huge(x):\n' + ''.join('    v%d = x + %d\n' % (i, i) for i in range(4500))
                 + '    return v0\n')
    # A loop whose body is long, so the jump back goes far up.
    parts.append('def long_loop(n):\n    for i in range(n):\n' + ''.join('        n += %d\n' % i for i in range(200))
                 + '    return n\n')
    return '\n'.join(parts)


def corpus():
    srcs = [('base', BASE), ('generated', generated())]
    if V >= (3, 6):
        srcs.append(('py3', PY3))
    if V >= (3, 8):
        srcs.append(('py38', PY38))
    if V >= (3, 10):
        srcs.append(('py310', BASE + PY310))
    if V >= (3, 11):
        srcs.append(('py311', PY311))
    if V >= (3, 12):
        srcs.append(('py312', PY312))
    return srcs


def walk(co, out):
    out.append(co)
    for c in co.co_consts:
        if isinstance(c, types.CodeType):
            walk(c, out)


api = ctypes.pythonapi
api.PyCode_Addr2Line.argtypes = [ctypes.py_object, ctypes.c_int]
api.PyCode_Addr2Line.restype = ctypes.c_int
if V >= (3, 11):
    api.PyCode_Addr2Location.argtypes = [ctypes.py_object, ctypes.c_int] + [ctypes.POINTER(ctypes.c_int)] * 4
    api.PyCode_Addr2Location.restype = ctypes.c_int


def none1(v):
    return -1 if v is None else v


def table_of(co):
    t = co.co_linetable if V >= (3, 10) else co.co_lnotab
    return bytearray(t)


def expected_lines(co, n):
    lines = [co.co_firstlineno] * n if V < (3, 10) else [-1] * n
    if V < (3, 10):
        starts = list(dis.findlinestarts(co))
        for i, (start, line) in enumerate(starts):
            stop = starts[i + 1][0] if i + 1 < len(starts) else n
            for off in range(start, min(stop, n)):
                lines[off] = line
    else:
        for start, end, line in co.co_lines():
            for off in range(start, min(end, n)):
                lines[off] = none1(line)
    return lines


def sample_offsets(co, n, lines):
    if n <= 700:
        offs = list(range(-2, n))
    else:
        offs = set(range(-2, 3)) | set(range(0, n, max(1, n // 300)))
        for off in range(1, n):
            if lines[off] != lines[off - 1]:
                offs.update((off - 1, off))
                if len(offs) > 900:
                    break
        offs = sorted(o for o in offs if o < n)
    if V < (3, 10):
        # co_lnotab does not know the code length: PyCode_Addr2Line gives the last line past the end.
        offs += [n, n + 7]
    return offs


def dump_code(co, source):
    n = len(co.co_code)
    lines = expected_lines(co, n)
    entry = {
        'source': source, 'name': co.co_name, 'first': co.co_firstlineno, 'code_len': n,
        'table': ''.join('%02x' % b for b in table_of(co)), 'lines': lines,
    }
    offs = sample_offsets(co, n, lines)
    entry['addr2line'] = [[o, api.PyCode_Addr2Line(co, o)] for o in offs]
    if V >= (3, 11):
        entry['positions'] = [[none1(a), none1(b), none1(c), none1(d)] for (a, b, c, d) in co.co_positions()]
        loc = []
        vals = [ctypes.c_int() for _ in range(4)]
        for o in offs:
            api.PyCode_Addr2Location(co, o, *[ctypes.byref(v) for v in vals])
            # PyCode_Addr2Location(co, addrq, &start_line, &start_column, &end_line, &end_column)
            loc.append([o, vals[0].value, vals[2].value, vals[1].value, vals[3].value])
        entry['addr2loc'] = loc
    return entry


out = []
for name, src in corpus():
    codes = []
    walk(compile(src, '<corpus-%s>' % name, 'exec', 0, True), codes)
    for co in codes:
        out.append(dump_code(co, name))

sys.stdout.write(json.dumps({'hexversion': sys.hexversion, 'code_objects': out}, separators=(',', ':')))
sys.stdout.write('\n')
