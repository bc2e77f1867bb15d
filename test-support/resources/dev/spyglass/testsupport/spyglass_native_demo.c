/*
 * spyglass_native_demo: a C extension for Spyglass's native-frame tests (see NativeDemoExtension).
 *
 *   ext_sort(list, cmp) -> list   copies the list into a C array and sorts it with libc's qsort; the C
 *                                 comparison callback compare_trampoline calls the Python callable cmp,
 *                                 so a sample inside cmp has Python, extension, libc, extension and
 *                                 Python frames on one thread's stack.
 *   ext_spin(n) -> int            burns CPU in C (ext_spin_loop) with the GIL released.
 *
 * The functions a test looks for are noinline so they stay real frames at any optimisation level;
 * the unwinder reads .eh_frame, so frame pointers are not needed. Builds against the C API of
 * CPython 2.7 and 3.6 to 3.15.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>

/* The Python comparison callable and the first error it raised, for the sort in progress. qsort takes
 * no context argument (qsort_r would, but is not in every libc); the GIL makes a static safe for
 * GIL builds, and a free-threaded build (3.13+) serialises ext_sort with a module lock below. */
static PyObject *current_cmp;
static int current_failed;

__attribute__((noinline)) static int compare_trampoline(const void *a, const void *b) {
    PyObject *left = *(PyObject *const *) a;
    PyObject *right = *(PyObject *const *) b;
    PyObject *r;
    long v;
    if (current_failed) {
        return 0;
    }
    r = PyObject_CallFunctionObjArgs(current_cmp, left, right, NULL);
    if (r == NULL) {
        current_failed = 1;
        return 0;
    }
#if PY_MAJOR_VERSION >= 3
    v = PyLong_AsLong(r);
#else
    v = PyInt_AsLong(r);
#endif
    Py_DECREF(r);
    if (v == -1 && PyErr_Occurred()) {
        current_failed = 1;
        return 0;
    }
    return v < 0 ? -1 : (v > 0 ? 1 : 0);
}

#ifdef Py_GIL_DISABLED
static PyMutex sort_lock;
#endif

__attribute__((noinline)) static PyObject *ext_sort(PyObject *self, PyObject *args) {
    PyObject *list, *cmp, *result = NULL, **items;
    Py_ssize_t n, i;
    (void) self;
    if (!PyArg_ParseTuple(args, "O!O:ext_sort", &PyList_Type, &list, &cmp)) {
        return NULL;
    }
    if (!PyCallable_Check(cmp)) {
        PyErr_SetString(PyExc_TypeError, "ext_sort: cmp must be callable");
        return NULL;
    }
    n = PyList_GET_SIZE(list);
    items = (PyObject **) malloc((size_t) (n > 0 ? n : 1) * sizeof(PyObject *));
    if (items == NULL) {
        return PyErr_NoMemory();
    }
    for (i = 0; i < n; i++) {
        items[i] = PyList_GET_ITEM(list, i);
        Py_INCREF(items[i]);
    }
#ifdef Py_GIL_DISABLED
    PyMutex_Lock(&sort_lock);
#endif
    current_cmp = cmp;
    current_failed = 0;
    qsort(items, (size_t) n, sizeof(PyObject *), compare_trampoline);
    current_cmp = NULL;
#ifdef Py_GIL_DISABLED
    PyMutex_Unlock(&sort_lock);
#endif
    if (!current_failed) {
        result = PyList_New(n);
    }
    for (i = 0; i < n; i++) {
        if (result != NULL) {
            PyList_SET_ITEM(result, i, items[i]); /* steals the reference taken above */
        } else {
            Py_DECREF(items[i]);
        }
    }
    free(items);
    return result;
}

__attribute__((noinline)) static unsigned long ext_spin_loop(unsigned long n) {
    unsigned long acc = 0, i;
    for (i = 0; i < n; i++) {
        acc = acc * 6364136223846793005UL + i;
        __asm__ volatile("" : "+r"(acc));
    }
    return acc;
}

static PyObject *ext_spin(PyObject *self, PyObject *args) {
    unsigned long n, acc;
    (void) self;
    if (!PyArg_ParseTuple(args, "k:ext_spin", &n)) {
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    acc = ext_spin_loop(n);
    Py_END_ALLOW_THREADS
    return PyLong_FromUnsignedLong(acc);
}

static PyMethodDef demo_methods[] = {
    {"ext_sort", ext_sort, METH_VARARGS, "ext_sort(list, cmp): a sorted copy of list, sorted by libc qsort calling cmp(a, b)."},
    {"ext_spin", ext_spin, METH_VARARGS, "ext_spin(n): n rounds of arithmetic in C, without the GIL."},
    {NULL, NULL, 0, NULL}
};

#if PY_MAJOR_VERSION >= 3
static struct PyModuleDef demo_module = {
    PyModuleDef_HEAD_INIT, "spyglass_native_demo", NULL, -1, demo_methods, NULL, NULL, NULL, NULL
};

PyMODINIT_FUNC PyInit_spyglass_native_demo(void) {
    PyObject *m = PyModule_Create(&demo_module);
#ifdef Py_GIL_DISABLED
    /* Without this a free-threaded build (3.13+) turns the GIL back on when importing the module. */
    if (m != NULL) {
        PyUnstable_Module_SetGIL(m, Py_MOD_GIL_NOT_USED);
    }
#endif
    return m;
}
#else
PyMODINIT_FUNC initspyglass_native_demo(void) {
    Py_InitModule("spyglass_native_demo", demo_methods);
}
#endif
