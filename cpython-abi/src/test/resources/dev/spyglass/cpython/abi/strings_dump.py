# -*- coding: utf-8 -*-
# Oracle for StringDecoderOracleTest. Runs on CPython 2.7 and 3.3+: creates str / bytes (and 2.7
# unicode) objects of every storage form, and prints their raw memory (ctypes.string_at) with the
# expected text, plus the struct offsets derived from this interpreter's own sizes:
#   object.__basicsize__             = sizeof(PyObject) (16, or 32 on free-threaded builds)
#   bytes/str.__basicsize__ - 1      = offsetof(PyBytesObject / PyStringObject, ob_sval)
#   sys.getsizeof('') - 1            = sizeof(PyASCIIObject)        (3.3+)
#   str.__basicsize__ - 8            = sizeof(PyCompactUnicodeObject) = offsetof(PyUnicodeObject, data)
import sys, json, ctypes

V = sys.version_info[:2]
PY2 = V[0] == 2
H = object.__basicsize__
WORD = ctypes.sizeof(ctypes.c_void_p)

layout = {'VAROBJECT_SIZE': H}
if PY2:
    layout['BYTES_DATA'] = str.__basicsize__ - 1
    layout['UNICODE27_LENGTH'] = H
    layout['UNICODE27_STR'] = H + WORD
else:
    layout['BYTES_DATA'] = bytes.__basicsize__ - 1
    layout['UNICODE_LENGTH'] = H
    layout['UNICODE_STATE'] = H + 2 * WORD
    layout['UNICODE_ASCII_DATA'] = sys.getsizeof('') - 1
    layout['UNICODE_COMPACT_DATA'] = str.__basicsize__ - WORD
    layout['UNICODE_DATA_PTR'] = str.__basicsize__ - WORD


def hexs(b):
    return ''.join('%02x' % c for c in bytearray(b))


def ptr_at(addr):
    return ctypes.c_void_p.from_address(addr).value or 0


def ssize_at(addr):
    return ctypes.c_ssize_t.from_address(addr).value


def unit_of(text):
    m = max([ord(c) for c in text] or [0])
    return (1 if m < 0x100 else 2 if m < 0x10000 else 4), m < 0x80


samples = []
skipped = []


def add(name, kind, obj, object_size, expected, data_address=0, data_size=0):
    # Never less than the largest header a decoder may look at (sizeof(PyUnicodeObject)).
    size = max(object_size, str.__basicsize__ if not PY2 else 0, layout['BYTES_DATA'] + 1)
    s = {'name': name, 'kind': kind, 'address': id(obj), 'object': hexs(ctypes.string_at(id(obj), size)),
         'data_address': data_address, 'data': hexs(ctypes.string_at(data_address, data_size)) if data_address else ''}
    if kind == 'bytes':
        s['hex'] = hexs(expected)
    else:
        s['text'] = expected
    samples.append(s)


def add_compact(name, s):
    unit, ascii = unit_of(s)
    assert ssize_at(id(s) + layout['UNICODE_LENGTH']) == len(s)
    start = layout['UNICODE_ASCII_DATA'] if ascii else layout['UNICODE_COMPACT_DATA']
    add(name, 'str', s, start + (len(s) + 1) * unit, s)


def add_legacy(name, s):
    unit, ascii = unit_of(s)
    data = ptr_at(id(s) + layout['UNICODE_DATA_PTR'])
    add(name, 'str', s, str.__basicsize__, u'' + s, data, (len(s) + 1) * unit)


def add_bytes(name, b):
    add(name, 'bytes', b, layout['BYTES_DATA'] + len(b) + 1, b)


TEXTS = [('ascii', u'hello'), ('latin1', u'na\u00efve_\u00df'), ('ucs2', u'\u51fd\u6570'),
         ('ucs4', u'\U0001d518\U0001d52b\U0001d526\U0001f600'), ('empty', u'')]

if PY2:
    for name, b in [('str_ascii', 'hello'), ('str_utf8', u'na\u00efve_\u00df'.encode('utf-8')), ('str_empty', ''),
                    ('str_long', 'x' * 5000)]:
        s = b[:] if b else b
        add(name, 'str', s, layout['BYTES_DATA'] + len(s) + 1, s.decode('utf-8'))
        add_bytes('bytes_' + name, s)
    width = 2 if sys.maxunicode == 0xffff else 4
    for name, t in TEXTS + [('long', u'\u00e9' * 3000)]:
        u = u''.join([t[:1], t[1:]])
        assert ssize_at(id(u) + layout['UNICODE27_LENGTH']) == len(u)
        data = ptr_at(id(u) + layout['UNICODE27_STR'])
        add('unicode_' + name, 'unicode27', u, unicode.__basicsize__, u, data, (len(u) + 1) * width)
else:
    width = 4
    for name, t in TEXTS:
        add_compact('compact_' + name, ''.join([t[:1], t[1:]]))
    add_compact('compact_long_latin1', 'x' * 5000 + '\u00e9')
    add_compact('compact_long_ucs2', '\u51fd' * 300)
    add_compact('interned', sys.intern(''.join(['spyglass_', 'interned_name'])))
    add_compact('identifier', '__name__')
    add_compact('single_latin1', chr(0xe9))
    add_compact('single_ascii', chr(65))

    class Sub(str):
        pass

    for name, t in TEXTS:
        add_legacy('subclass_' + name, Sub(t))

    # Strings made through the deprecated Py_UNICODE API: not ready (kind 0, only wstr), then ready.
    if V < (3, 12):
        try:
            api = ctypes.pythonapi
            api.PyUnicode_FromUnicode.argtypes = [ctypes.c_void_p, ctypes.c_ssize_t]
            api.PyUnicode_FromUnicode.restype = ctypes.py_object
            api._PyUnicode_Ready.argtypes = [ctypes.py_object]
            api._PyUnicode_Ready.restype = ctypes.c_int
            for name, t in [('legacy_latin1', u'h\u00e9llo'), ('legacy_ucs4', u'h\u00e9llo\U0001f600'),
                            ('legacy_ascii', u'hello')]:
                wchars = [ord(c) for c in t]
                u = api.PyUnicode_FromUnicode(None, len(wchars))
                # wstr is the last member of PyASCIIObject in 3.3 - 3.11.
                wstr = ptr_at(id(u) + layout['UNICODE_ASCII_DATA'] - WORD)
                ctypes.memmove(wstr, (ctypes.c_uint32 * len(wchars))(*wchars), 4 * len(wchars))
                add(name + '_not_ready', 'str', u, str.__basicsize__, t, wstr, 4 * (len(wchars) + 1))
                if api._PyUnicode_Ready(u) != 0:
                    raise RuntimeError('_PyUnicode_Ready failed')
                data = ptr_at(id(u) + layout['UNICODE_DATA_PTR'])
                unit, _ = unit_of(t)
                add(name + '_ready', 'str', u, str.__basicsize__, t, data, (len(t) + 1) * unit)
        except Exception as e:
            skipped.append('legacy Py_UNICODE strings: %r' % (e,))
    else:
        skipped.append('legacy Py_UNICODE strings: PyUnicode_FromUnicode was removed in 3.12')

    add_bytes('bytes_empty', b'')
    add_bytes('bytes_small', b'\x00\x01\xff abc')
    add_bytes('bytes_long', bytes(bytearray(range(256))) * 20)

sys.stdout.write(json.dumps({'hexversion': sys.hexversion, 'layout': layout, 'py_unicode_width': width,
                             'samples': samples, 'skipped': skipped}))
sys.stdout.write('\n')
