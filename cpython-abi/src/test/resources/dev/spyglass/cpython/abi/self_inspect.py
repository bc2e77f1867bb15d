# Oracle for Layout tables: the interpreter reads its OWN memory with ctypes at the offsets under test
# and compares what it finds with what the C API and Python objects say. Runs on 2.7 and 3.x.
# The test prepends "O = {...}" (field -> offset, absent fields left out) and "MAJOR, MINOR = ...".
# Prints one line per field: "FIELD ok", "FIELD BAD <detail>".
import ctypes
import sys
import threading

# A free-threaded build runs with its GIL disabled, so nobody holds it and the GIL fields show nothing
# checkable. PYTHON_GIL=1 turns it back on (3.13t+): re-run this very script that way, so the GIL
# fields are checked as strongly as in a default build.
if FREE_THREADED and not sys._is_gil_enabled():
    import os
    env = dict(os.environ, PYTHON_GIL='1')
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

api = ctypes.pythonapi
P = ctypes.c_void_p
RES = {}


def ptr(a):
    return P.from_address(a).value or 0


def i32(a):
    return ctypes.c_int.from_address(a).value


def u8(a):
    return ctypes.c_ubyte.from_address(a).value


def ssz(a):
    return ctypes.c_ssize_t.from_address(a).value


def ulong(a):
    return ctypes.c_ulong.from_address(a).value


def check(field, ok, detail=''):
    if field in O and RES.get(field, 'ok') == 'ok':
        RES[field] = 'ok' if ok else 'BAD ' + str(detail)


def has(*fields):
    for f in fields:
        if f not in O:
            return False
    return True


MASK = ~O.get('CONST_STACKREF_TAG_MASK', 0)

api.PyThreadState_Get.restype = P
api.PyInterpreterState_Head.restype = P
api.PyInterpreterState_ThreadHead.restype = P
api.PyInterpreterState_ThreadHead.argtypes = [P]
api.PyThreadState_Next.restype = P
api.PyThreadState_Next.argtypes = [P]

# A second thread, parked, so that the thread list has two entries (new threads are prepended).
started = threading.Event()
release = threading.Event()


def park():
    started.set()
    release.wait()


helper = threading.Thread(target=park)
# Daemon: if a check raises (a wrong offset can make ctypes read garbage), the process must still exit.
helper.daemon = True
helper.start()
started.wait()

ts = api.PyThreadState_Get()
interp = api.PyInterpreterState_Head()
head = api.PyInterpreterState_ThreadHead(interp)

check('TSTATE_INTERP', has('TSTATE_INTERP') and ptr(ts + O['TSTATE_INTERP']) == interp)
if has('INTERP_TSTATE_HEAD'):
    check('INTERP_TSTATE_HEAD', ptr(interp + O['INTERP_TSTATE_HEAD']) == head, (head, ts))
if has('TSTATE_NEXT'):
    check('TSTATE_NEXT', head != ts and ptr(head + O['TSTATE_NEXT']) == ts and
          ptr(head + O['TSTATE_NEXT']) == (api.PyThreadState_Next(head) or 0))
if has('TSTATE_PREV'):
    check('TSTATE_PREV', ptr(ts + O['TSTATE_PREV']) == head and ptr(head + O['TSTATE_PREV']) == 0)
if has('INTERP_MODULES'):
    check('INTERP_MODULES', ptr(interp + O['INTERP_MODULES']) == id(sys.modules))
if has('INTERP_THREADS_MAIN'):
    check('INTERP_THREADS_MAIN', ptr(interp + O['INTERP_THREADS_MAIN']) == ts)
if has('TSTATE_THREAD_ID'):
    check('TSTATE_THREAD_ID', ulong(ts + O['TSTATE_THREAD_ID']) == threading.current_thread().ident)
if has('TSTATE_NATIVE_THREAD_ID'):
    check('TSTATE_NATIVE_THREAD_ID', ulong(ts + O['TSTATE_NATIVE_THREAD_ID']) == threading.get_native_id())

if has('RUNTIME_INTERPRETERS_HEAD'):
    rt = ctypes.addressof(ctypes.c_char.in_dll(api, '_PyRuntime'))
    check('RUNTIME_INTERPRETERS_HEAD', ptr(rt + O['RUNTIME_INTERPRETERS_HEAD']) == interp)
    check('RUNTIME_INTERPRETERS_MAIN', has('RUNTIME_INTERPRETERS_MAIN')
          and ptr(rt + O['RUNTIME_INTERPRETERS_MAIN']) == interp)
    if has('RUNTIME_TSTATE_CURRENT'):
        check('RUNTIME_TSTATE_CURRENT', ptr(rt + O['RUNTIME_TSTATE_CURRENT']) == ts)
    # We hold the GIL while reading, and the helper thread released it last before we took it back.
    if has('RUNTIME_GIL_LOCKED', 'RUNTIME_GIL_LAST_HOLDER', 'GIL_LOCKED', 'GIL_LAST_HOLDER'):
        check('RUNTIME_GIL_LOCKED', i32(rt + O['RUNTIME_GIL_LOCKED']) == 1)
        check('RUNTIME_GIL_LAST_HOLDER', ptr(rt + O['RUNTIME_GIL_LAST_HOLDER']) == ts)
        gil = rt + O['RUNTIME_GIL_LAST_HOLDER'] - O['GIL_LAST_HOLDER']
        check('GIL_LOCKED', i32(gil + O['GIL_LOCKED']) == 1)
        check('GIL_LAST_HOLDER', ptr(gil + O['GIL_LAST_HOLDER']) == ts)
if has('INTERP_GIL_PTR', 'GIL_LOCKED', 'GIL_LAST_HOLDER'):
    gil = ptr(interp + O['INTERP_GIL_PTR'])
    ok = gil != 0 and i32(gil + O['GIL_LOCKED']) == 1 and ptr(gil + O['GIL_LAST_HOLDER']) == ts
    check('INTERP_GIL_PTR', ok)
    check('GIL_LOCKED', ok)
    check('GIL_LAST_HOLDER', ok)

# A sub-interpreter is prepended to the runtime's list: its next is the main interpreter, and its id is
# the one the module reports (3.8 - 3.12: _xxsubinterpreters; 3.13+: _interpreters).
sub_module = None
for name in ('_interpreters', '_xxsubinterpreters'):
    try:
        sub_module = __import__(name)
        break
    except ImportError:
        pass
if sub_module is not None and has('INTERP_NEXT', 'INTERP_ID'):
    sub_id = sub_module.create()
    sub = api.PyInterpreterState_Head()
    check('INTERP_NEXT', sub != interp and ptr(sub + O['INTERP_NEXT']) == interp and ptr(interp + O['INTERP_NEXT']) == 0)
    check('INTERP_ID', ctypes.c_int64.from_address(sub + O['INTERP_ID']).value == int(sub_id)
          and ctypes.c_int64.from_address(interp + O['INTERP_ID']).value == 0, int(sub_id))
    sub_module.destroy(sub_id)

# Frames. ptr() & co. are Python functions and push a frame of their own, so reads that must see the
# CURRENT frame call P.from_address directly (a C call: no Python frame is pushed).


def frames_legacy(a, b, c):
    f = sys._getframe()
    check('TSTATE_FRAME', P.from_address(ts + O['TSTATE_FRAME']).value == id(f))
    check('FRAME_BACK', ptr(id(f) + O['FRAME_BACK']) == id(f.f_back))
    check('FRAME_CODE', ptr(id(f) + O['FRAME_CODE']) == id(f.f_code))
    check('SIZEOF_FRAME', type(f).__basicsize__ == O['SIZEOF_FRAME'])
    if 'CONST_CODEUNIT_SIZE' in O:
        # 3.6+ wordcode: every instruction is one code unit, so dis offsets step by exactly that much.
        import dis
        offsets = [i.offset for i in dis.get_instructions(f.f_code)]
        steps = set(b - a for a, b in zip(offsets, offsets[1:]))
        check('CONST_CODEUNIT_SIZE', steps == set([O['CONST_CODEUNIT_SIZE']]), steps)
    return f.f_code


def frames_interpreter(a, b, c):
    me = sys._getframe().f_code
    if 'TSTATE_CURRENT_FRAME' in O:
        fr = P.from_address(ts + O['TSTATE_CURRENT_FRAME']).value
    else:
        fr = P.from_address(P.from_address(ts + O['TSTATE_CFRAME']).value + O['CFRAME_CURRENT_FRAME']).value
    check('TSTATE_CURRENT_FRAME', (ptr(fr + O['IFRAME_EXECUTABLE']) & MASK) == id(me))
    check('TSTATE_CFRAME', (ptr(fr + O['IFRAME_EXECUTABLE']) & MASK) == id(me))
    check('CFRAME_CURRENT_FRAME', (ptr(fr + O['IFRAME_EXECUTABLE']) & MASK) == id(me))
    check('IFRAME_EXECUTABLE', (ptr(fr + O['IFRAME_EXECUTABLE']) & MASK) == id(me))
    check('CONST_STACKREF_TAG_MASK', (ptr(fr + O['IFRAME_EXECUTABLE']) & MASK) == id(me))
    prev = ptr(fr + O['IFRAME_PREVIOUS'])
    check('IFRAME_PREVIOUS', (ptr(prev + O['IFRAME_EXECUTABLE']) & MASK) == id(sys._getframe(1).f_code))
    check('IFRAME_OWNER', u8(fr + O['IFRAME_OWNER']) == 0 and u8(prev + O['IFRAME_OWNER']) == 0)
    check('IFRAME_LOCALSPLUS', (ptr(fr + O['IFRAME_LOCALSPLUS']) & MASK) == id(a))
    code_start = id(me) + O['CODE_CODE_ADAPTIVE']
    ip = ptr(fr + O['IFRAME_INSTR_PTR'])
    check('IFRAME_INSTR_PTR', code_start <= ip < code_start + len(me.co_code), (ip - code_start))
    check('CODE_CODE_ADAPTIVE', type(me).__basicsize__ == O['CODE_CODE_ADAPTIVE'])
    check('CONST_CODEUNIT_SIZE', type(me).__itemsize__ == O['CONST_CODEUNIT_SIZE'])
    # Walk to the bottom: Python frames have owner < FIRST_NON_PYTHON; the frame that entered from C is
    # marked (is_entry in 3.11, an owner >= FIRST_NON_PYTHON frame in 3.12+).
    owners = []
    entries = 0
    f = fr
    while f and len(owners) < 100:
        owners.append(u8(f + O['IFRAME_OWNER']))
        if 'IFRAME_IS_ENTRY' in O:
            entries += u8(f + O['IFRAME_IS_ENTRY'])
        f = ptr(f + O['IFRAME_PREVIOUS'])
    if 'IFRAME_IS_ENTRY' in O:
        check('IFRAME_IS_ENTRY', u8(fr + O['IFRAME_IS_ENTRY']) == 0 and entries >= 1, owners)
    first = O['CONST_FRAME_OWNER_FIRST_NON_PYTHON']
    non_python = [o for o in owners if o >= first]
    if 'CONST_FRAME_OWNED_BY_CSTACK' in O and MINOR <= 13:
        check('CONST_FRAME_OWNED_BY_CSTACK', O['CONST_FRAME_OWNED_BY_CSTACK'] in owners, owners)
    if MINOR >= 12:
        check('CONST_FRAME_OWNER_FIRST_NON_PYTHON', len(non_python) >= 1 and owners[0] < first, owners)
    else:
        check('CONST_FRAME_OWNER_FIRST_NON_PYTHON', len(non_python) == 0, owners)
    # The data stack: this frame lies in the current chunk, below datastack_top; limit ends the chunk.
    chunk = ptr(ts + O['TSTATE_DATASTACK_CHUNK'])
    size = ulong(chunk + O['CHUNK_SIZE'])
    top = ptr(ts + O['TSTATE_DATASTACK_TOP'])
    inside = chunk + O['CHUNK_DATA'] <= fr < top <= chunk + size
    check('TSTATE_DATASTACK_CHUNK', inside, (chunk, fr, top, size))
    check('TSTATE_DATASTACK_TOP', inside)
    check('CHUNK_SIZE', inside and ptr(ts + O['TSTATE_DATASTACK_LIMIT']) == chunk + size)
    check('TSTATE_DATASTACK_LIMIT', ptr(ts + O['TSTATE_DATASTACK_LIMIT']) == chunk + size)
    check('CHUNK_DATA', inside)
    return me


def deep(n):
    # Deep enough to spill the first 16 KiB data-stack chunk (3.11+): the current chunk then has a
    # previous one whose saved top (in words) lies within it.
    if n:
        return deep(n - 1)
    chunk = ptr(ts + O['TSTATE_DATASTACK_CHUNK'])
    prev = ptr(chunk + O['CHUNK_PREVIOUS'])
    ok = prev != 0 and O['CHUNK_DATA'] < O['CHUNK_DATA'] + 8 * ulong(prev + O['CHUNK_TOP']) <= ulong(
        prev + O['CHUNK_SIZE'])
    check('CHUNK_PREVIOUS', ok, prev)
    check('CHUNK_TOP', ok)


def gen():
    yield 1
    yield 2


if has('IFRAME_EXECUTABLE'):
    code = frames_interpreter(object(), 2, 3)
    deep(600)
else:
    code = frames_legacy(object(), 2, 3)
    g = gen()
    next(g)
    gf = g.gi_frame
    raw = i32(id(gf) + O['FRAME_LASTI'])
    check('FRAME_LASTI', raw > 0 and raw * O['CONST_LASTI_MULTIPLIER'] == gf.f_lasti, (raw, gf.f_lasti))
    check('CONST_LASTI_MULTIPLIER', raw > 0 and raw * O['CONST_LASTI_MULTIPLIER'] == gf.f_lasti)
    check('SIZEOF_CODE', type(code).__basicsize__ == O['SIZEOF_CODE'])

check('CODE_NAME', ptr(id(code) + O['CODE_NAME']) == id(code.co_name))
if has('CODE_QUALNAME'):
    check('CODE_QUALNAME', ptr(id(code) + O['CODE_QUALNAME']) == id(code.co_qualname))
check('CODE_FILENAME', ptr(id(code) + O['CODE_FILENAME']) == id(code.co_filename))
check('CODE_FIRSTLINENO', i32(id(code) + O['CODE_FIRSTLINENO']) == code.co_firstlineno)
table = code.co_lnotab if (MAJOR, MINOR) <= (3, 9) else code.co_linetable
check('CODE_LINETABLE', ptr(id(code) + O['CODE_LINETABLE']) == id(table))
if has('CODE_CODE'):
    check('CODE_CODE', ptr(id(code) + O['CODE_CODE']) == id(code.co_code))
check('CODE_ARGCOUNT', i32(id(code) + O['CODE_ARGCOUNT']) == 3)
check('CODE_FLAGS', i32(id(code) + O['CODE_FLAGS']) == code.co_flags)

t = (1, 2, 3)
check('OBJECT_TYPE', ptr(id(t) + O['OBJECT_TYPE']) == id(tuple) and ptr(id(code) + O['OBJECT_TYPE']) == id(type(code)))
check('VAROBJECT_SIZE', ssz(id(t) + O['VAROBJECT_SIZE']) == 3)
if has('OBJECT_REFCNT'):
    # sys.getrefcount counts its own argument too.
    check('OBJECT_REFCNT', ssz(id(t) + O['OBJECT_REFCNT']) == sys.getrefcount(t) - 1)
check('TYPE_NAME', ctypes.string_at(ptr(id(tuple) + O['TYPE_NAME'])) == b'tuple')
check('TYPE_FLAGS', ulong(id(tuple) + O['TYPE_FLAGS']) == tuple.__flags__)
b = b'spyglass:' + str(len(sys.argv)).encode('ascii')
check('BYTES_DATA', ctypes.string_at(id(b) + O['BYTES_DATA'], len(b)) == b)

# asyncio task stacks (3.13+ long, 3.14+ generators, sets): what the task reader follows.
if has('LONG_TAG', 'LONG_DIGITS'):
    n = int('123456789')  # not a cached small int; 27 bits: one 30-bit digit
    check('LONG_TAG', ulong(id(n) + O['LONG_TAG']) >> 3 == 1 and ulong(id(n) + O['LONG_TAG']) & 3 == 0,
          ulong(id(n) + O['LONG_TAG']))
    check('LONG_DIGITS', ctypes.c_uint32.from_address(id(n) + O['LONG_DIGITS']).value == 123456789)
if has('SET_USED', 'SET_MASK', 'SET_TABLE'):
    members = (object(), object(), object())
    st = set(members)
    check('SET_USED', ssz(id(st) + O['SET_USED']) == 3)
    check('SET_MASK', ssz(id(st) + O['SET_MASK']) == 7, ssz(id(st) + O['SET_MASK']))
    table = ptr(id(st) + O['SET_TABLE'])
    keys = set(ptr(table + 16 * i) for i in range(8)) if table else set()
    check('SET_TABLE', all(id(m) in keys for m in members))
if has('GEN_IFRAME', 'GEN_FRAME_STATE'):
    g2 = gen()
    next(g2)
    check('GEN_IFRAME', (ptr(id(g2) + O['GEN_IFRAME'] + O['IFRAME_EXECUTABLE']) & MASK) == id(g2.gi_code))
    # FRAME_SUSPENDED: -1 in 3.11, 3.12; -2 in 3.13, 3.14; 1 in 3.15 (the enum was renumbered); then
    # FRAME_CLEARED once exhausted.
    suspended = ctypes.c_int8.from_address(id(g2) + O['GEN_FRAME_STATE']).value
    list(g2)
    cleared = ctypes.c_int8.from_address(id(g2) + O['GEN_FRAME_STATE']).value
    expected = (1, 5) if MINOR >= 15 else (-2, 4) if MINOR >= 13 else (-1, 4)
    check('GEN_FRAME_STATE', (suspended, cleared) == expected, (suspended, cleared))

if MAJOR == 2:
    u = u'h\xe9llo\u20ac'
    n = ssz(id(u) + O['UNICODE27_LENGTH'])
    check('UNICODE27_LENGTH', n == 6)
    unit = 4 if sys.maxunicode > 0xffff else 2
    check('CONST_UNICODE27_UNIT_SIZE', unit == O['CONST_UNICODE27_UNIT_SIZE'], unit)
    data = ctypes.string_at(ptr(id(u) + O['UNICODE27_STR']), 6 * unit)
    check('UNICODE27_STR', data == u.encode('utf-32-le' if unit == 4 else 'utf-16-le'))
else:
    s = 'spy' + str(len(sys.argv))
    check('UNICODE_LENGTH', ssz(id(s) + O['UNICODE_LENGTH']) == len(s))
    st = u8(id(s) + O['UNICODE_STATE'])
    # interned:2, kind:3, compact:1, ascii:1 (free-threaded 3.14 widened "interned" to a byte).
    if not (MINOR >= 14 and FREE_THREADED):
        check('UNICODE_STATE', (st >> 2) & 7 == 1 and (st >> 5) & 1 == 1 and (st >> 6) & 1 == 1, st)
    check('UNICODE_ASCII_DATA', ctypes.string_at(id(s) + O['UNICODE_ASCII_DATA'], len(s)) == s.encode('ascii'))
    latin = '\xe9t\xe9' + str(len(sys.argv))
    check('UNICODE_COMPACT_DATA',
          ctypes.string_at(id(latin) + O['UNICODE_COMPACT_DATA'], len(latin)) == latin.encode('latin-1'))

    class S(str):
        pass

    legacy = S('h\xe9llo')
    data = ptr(id(legacy) + O['UNICODE_DATA_PTR'])
    check('UNICODE_DATA_PTR', data != 0 and ctypes.string_at(data, 5) == legacy.encode('latin-1'))

# Modules, type objects and dicts (ObjectModel): what reading threading._active needs (absent from
# free-threaded layouts for now).
if has('MODULE_DICT'):
    check('MODULE_DICT', ptr(id(sys) + O['MODULE_DICT']) == id(sys.__dict__))
    check('TYPE_BASICSIZE', ssz(id(tuple) + O['TYPE_BASICSIZE']) == tuple.__basicsize__
          and ssz(id(type) + O['TYPE_BASICSIZE']) == type.__basicsize__)
    check('TYPE_DICTOFFSET', ssz(id(type) + O['TYPE_DICTOFFSET']) == type.__dictoffset__ != 0
          and ssz(id(tuple) + O['TYPE_DICTOFFSET']) == 0)
    dd = {}
    for i in range(5):
        dd['k%d' % i] = 'v%d' % i
    check('DICT_USED', ssz(id(dd) + O['DICT_USED']) == 5)


    def dict_entries(keys):
        """(key address, value address) of each entry of a PyDictKeysObject, and its kind."""
        if 'DICTKEYS_SIZE' in O:
            size = ssz(keys + O['DICTKEYS_SIZE'])
            width = 1 if size <= 0xff else 2 if size <= 0xffff else 4 if size <= 0xffffffff else 8
            first, esize, koff, kind = keys + O['DICTKEYS_INDICES'] + size * width, 24, 8, 0
        else:
            kind = u8(keys + O['DICTKEYS_KIND'])
            first = keys + O['DICTKEYS_INDICES'] + (1 << u8(keys + O['DICTKEYS_LOG2_INDEX_BYTES']))
            esize, koff = (24, 8) if kind == 0 else (16, 0)
        n = ssz(keys + O['DICTKEYS_NENTRIES'])
        return [(ptr(first + esize * i + koff), ptr(first + esize * i + koff + 8)) for i in range(n)], kind


    if MAJOR == 2:
        mask = ssz(id(dd) + O['DICT27_MASK'])
        table = ptr(id(dd) + O['DICT27_TABLE'])
        found = {}
        for i in range(mask + 1):
            k, v = ptr(table + 24 * i + 8), ptr(table + 24 * i + 16)
            if k and v:
                found[k] = v
        ok = len(found) == 5 and all(found.get(id(k)) == id(v) for k, v in dd.items())
        check('DICT27_MASK', ok and mask == 7, mask)
        check('DICT27_TABLE', ok)
    else:
        ents, kind = dict_entries(ptr(id(dd) + O['DICT_KEYS']))
        ok = ents == [(id(k), id(v)) for k, v in dd.items()]
        for f in ('DICT_KEYS', 'DICTKEYS_SIZE', 'DICTKEYS_NENTRIES', 'DICTKEYS_INDICES', 'DICTKEYS_LOG2_INDEX_BYTES'):
            check(f, ok, ents)
        check('DICT_VALUES', ptr(id(dd) + O['DICT_VALUES']) == 0)
        if has('DICTKEYS_LOG2_SIZE'):
            check('DICTKEYS_LOG2_SIZE', 1 << u8(ptr(id(dd) + O['DICT_KEYS']) + O['DICTKEYS_LOG2_SIZE']) == 8)
            check('DICTKEYS_KIND', kind == 1, kind)

        class Obj(object):
            def __init__(self):
                self.a = 'A%d' % len(sys.argv)
                self._name = 'N%d' % len(sys.argv)

        o1, o2 = Obj(), Obj()
        o1._name += 'x'
        if not has('HEAPTYPE_CACHED_KEYS'):
            # 3.6 - 3.10: an instance always owns its dict, split over the class's shared keys.
            d1 = ptr(id(o1) + Obj.__dictoffset__)
            values = ptr(d1 + O['DICT_VALUES'])
            ents, kind = dict_entries(ptr(d1 + O['DICT_KEYS']))
            idx = [k for k, v in ents].index(id('_name'))
            check('DICTVALUES_VALUES', d1 == id(o1.__dict__) and values != 0
                  and ptr(values + O['DICTVALUES_VALUES'] + 8 * idx) == id(o1._name))
        else:
            flags = Obj.__flags__
            check('CONST_TPFLAGS_MANAGED_DICT', flags & O['CONST_TPFLAGS_MANAGED_DICT'] != 0
                  and tuple.__flags__ & O['CONST_TPFLAGS_MANAGED_DICT'] == 0)
            ents, kind = dict_entries(ptr(id(Obj) + O['HEAPTYPE_CACHED_KEYS']))
            keyids = [k for k, v in ents]
            check('HEAPTYPE_CACHED_KEYS', kind == 2 and id('_name') in keyids, (kind, len(ents)))
            idx = keyids.index(id('_name')) if id('_name') in keyids else 0
            before = O['CONST_MANAGED_DICT_BEFORE']
            word = ptr(id(o1) - before)
            if MINOR == 11:
                values = ptr(id(o1) - O['CONST_MANAGED_VALUES_BEFORE'])
                check('CONST_MANAGED_VALUES_BEFORE', values != 0 and word == 0)
            elif MINOR == 12:
                values = word + 1 if word & 1 else 0  # tagged as values - 1
            else:
                check('CONST_TPFLAGS_INLINE_VALUES', flags & O['CONST_TPFLAGS_INLINE_VALUES'] != 0 and word == 0)
                values = id(o1) + Obj.__basicsize__ if word == 0 and u8(id(o1) + Obj.__basicsize__ + 3) else 0
            check('DICTVALUES_VALUES', values != 0 and ptr(values + O['DICTVALUES_VALUES'] + 8 * idx) == id(o1._name),
                  (values, idx))
            d2 = o2.__dict__  # materialises the dict, which the pre-header then points to
            check('CONST_MANAGED_DICT_BEFORE', ptr(id(o2) - before) == id(d2), (ptr(id(o2) - before), id(d2)))

release.set()
helper.join()
for k in sorted(RES):
    sys.stdout.write('%s %s\n' % (k, RES[k]))
