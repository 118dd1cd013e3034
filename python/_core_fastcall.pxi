# SPDX-License-Identifier: Apache-2.0
# Part of atomik_core._core (included by _core.pyx, textually: it shares
# the module's namespace and cimports): the METH_FASTCALL hot methods.

# --------------------------------------------------------------------------
# Fast methods. Cython 0.29 binds a one-argument method as METH_O (fast, but
# it refuses keywords: `ctx.accum(delta=1)` would fail) and any other as
# METH_VARARGS | METH_KEYWORDS (a tuple and a dict built per call: about
# twice the cost of the work). The hot methods are therefore also written as
# METH_FASTCALL | METH_KEYWORDS functions (CPython's vectorcall convention,
# the one its own builtins use) and installed over the Cython versions once
# the classes exist: positional calls take a fast path and keywords work as
# in the reference. The `def` versions above stay the documented source of
# each method's behaviour; both call the same cdef implementation.

cdef extern from "Python.h":
    ctypedef PyObject* (*PyCFunction)(PyObject*, PyObject*)
    ctypedef struct PyMethodDef:
        const char* ml_name
        PyCFunction ml_meth
        int ml_flags
        const char* ml_doc
    int METH_FASTCALL
    int METH_KEYWORDS
    object PyDescr_NewMethod(PyTypeObject*, PyMethodDef*)
    object PyDescr_NewClassMethod(PyTypeObject*, PyMethodDef*)
    int METH_CLASS
    void PyType_Modified(PyTypeObject*)
    ctypedef struct _TypeWithDict "PyTypeObject":
        PyObject* tp_dict
    Py_ssize_t PyTuple_GET_SIZE(PyObject*)
    PyObject* PyTuple_GET_ITEM(PyObject*, Py_ssize_t)

ctypedef object (*_fastcall_t)(object, PyObject**, Py_ssize_t, PyObject*)

# The method definitions must outlive the module: they are allocated once
# and their name and doc strings are kept here.
_fast_keep = []


cdef int _parse_args(str fname, tuple names, Py_ssize_t nreq,
                     PyObject** args, Py_ssize_t nargs, PyObject* kwnames,
                     PyObject** out) except -1:
    """Binds vectorcall arguments to `names` (borrowed references in `out`,
    NULL for an optional one not given), with Python's own error messages."""
    cdef Py_ssize_t n = len(names), i, j, nkw
    if nargs > n:
        raise TypeError("%s() takes %d positional argument%s but %d were "
                        "given" % (fname, n, "" if n == 1 else "s", nargs))
    for i in range(n):
        out[i] = args[i] if i < nargs else NULL
    if kwnames != NULL:
        nkw = PyTuple_GET_SIZE(kwnames)
        for j in range(nkw):
            key = <object>PyTuple_GET_ITEM(kwnames, j)
            if key not in names:
                raise TypeError("%s() got an unexpected keyword argument %r"
                                % (fname, key))
            i = names.index(key)
            if out[i] != NULL:
                raise TypeError("%s() got multiple values for argument %r"
                                % (fname, key))
            out[i] = args[nargs + j]
    for i in range(nreq):
        if out[i] == NULL:
            raise TypeError("%s() missing required argument %r (pos %d)"
                            % (fname, names[i], i + 1))
    return 0


cdef _install_fast(type cls, str name, _fastcall_t fn, str params,
                   bint classmethod=False):
    """Installs fn as cls.<name> (a classmethod if asked), keeping the def
    version's docstring and giving inspect.signature() `params`."""
    cdef PyMethodDef* d = <PyMethodDef*>PyMem_Malloc(sizeof(PyMethodDef))
    if d == NULL:
        raise MemoryError()
    doc = getattr(cls, name).__doc__ or ""
    first, _, rest = doc.partition("\n")
    bname = name.encode()
    bdoc = ("%s(%s, /, %s)\n--\n\n%s\n%s" % (
        name, "$cls" if classmethod else "$self", params, first,
        rest)).encode()
    _fast_keep.append((bname, bdoc))
    d.ml_name = bname
    d.ml_meth = <PyCFunction><void*>fn
    d.ml_flags = METH_FASTCALL | METH_KEYWORDS
    d.ml_doc = bdoc
    if classmethod:
        d.ml_flags |= METH_CLASS
        descr = PyDescr_NewClassMethod(<PyTypeObject*>cls, d)
    else:
        descr = PyDescr_NewMethod(<PyTypeObject*>cls, d)
    (<dict>(<object>(<_TypeWithDict*>cls).tp_dict))[name] = descr
    PyType_Modified(<PyTypeObject*>cls)


cdef object _fast_ctx_accum(object self, PyObject** args, Py_ssize_t nargs,
                            PyObject* kwnames):
    cdef PyObject* a[1]
    if kwnames == NULL and nargs == 1:
        (<AtomikContext>self)._accum(<object>args[0])
        return None
    _parse_args("accum", ("delta",), 1, args, nargs, kwnames, a)
    (<AtomikContext>self)._accum(<object>a[0])
    return None


cdef object _fast_ctx_load(object self, PyObject** args, Py_ssize_t nargs,
                           PyObject* kwnames):
    cdef PyObject* a[1]
    if kwnames == NULL and nargs == 1:
        (<AtomikContext>self)._load(<object>args[0])
        return None
    _parse_args("load", ("value",), 1, args, nargs, kwnames, a)
    (<AtomikContext>self)._load(<object>a[0])
    return None


cdef object _fast_ctx_rollback(object self, PyObject** args, Py_ssize_t nargs,
                               PyObject* kwnames):
    cdef PyObject* a[1]
    if kwnames == NULL and nargs == 1:
        (<AtomikContext>self)._rollback(<object>args[0])
        return None
    _parse_args("rollback", ("delta",), 1, args, nargs, kwnames, a)
    (<AtomikContext>self)._rollback(<object>a[0])
    return None


cdef object _fast_table_accum(object self, PyObject** args, Py_ssize_t nargs,
                              PyObject* kwnames):
    cdef PyObject* a[2]
    if kwnames == NULL and nargs == 2:
        (<AtomikTable>self)._accum(<object>args[0], <object>args[1])
        return None
    _parse_args("accum", ("addr", "delta"), 2, args, nargs, kwnames, a)
    (<AtomikTable>self)._accum(<object>a[0], <object>a[1])
    return None


cdef object _fast_table_load(object self, PyObject** args, Py_ssize_t nargs,
                             PyObject* kwnames):
    cdef PyObject* a[2]
    if kwnames == NULL and nargs == 2:
        (<AtomikTable>self)._load(<object>args[0], <object>args[1])
        return None
    _parse_args("load", ("addr", "initial_state"), 2, args, nargs, kwnames,
                a)
    (<AtomikTable>self)._load(<object>a[0], <object>a[1])
    return None


cdef object _fast_table_read(object self, PyObject** args, Py_ssize_t nargs,
                             PyObject* kwnames):
    cdef PyObject* a[1]
    if kwnames == NULL and nargs == 1:
        return (<AtomikTable>self)._read(<object>args[0])
    _parse_args("read", ("addr",), 1, args, nargs, kwnames, a)
    return (<AtomikTable>self)._read(<object>a[0])


cdef object _fast_stream_accum(object self, PyObject** args,
                               Py_ssize_t nargs, PyObject* kwnames):
    cdef PyObject* a[2]
    if kwnames == NULL and nargs == 2:
        return (<DeltaStream>self)._accum(<object>args[0], <object>args[1])
    _parse_args("accum", ("addr", "delta"), 2, args, nargs, kwnames, a)
    return (<DeltaStream>self)._accum(<object>a[0], <object>a[1])


cdef object _fast_stream_apply(object self, PyObject** args,
                               Py_ssize_t nargs, PyObject* kwnames):
    cdef PyObject* a[2]
    if kwnames == NULL and (nargs == 1 or nargs == 2):
        a[0] = args[0]
        a[1] = args[1] if nargs == 2 else NULL
    else:
        _parse_args("apply", ("msg", "origin"), 1, args, nargs, kwnames, a)
    msg = <object>a[0]
    if not isinstance(msg, DeltaMessage):
        raise TypeError("apply: msg must be a DeltaMessage, got %s"
                        % type(msg).__name__)
    return (<DeltaStream>self)._apply(
        <DeltaMessage>msg, None if a[1] == NULL else <object>a[1])


cdef object _fast_stream_read(object self, PyObject** args, Py_ssize_t nargs,
                              PyObject* kwnames):
    cdef PyObject* a[1]
    if kwnames == NULL and nargs == 1:
        return (<DeltaStream>self)._read(<object>args[0])
    _parse_args("read", ("addr",), 1, args, nargs, kwnames, a)
    return (<DeltaStream>self)._read(<object>a[0])


cdef object _fast_message_from_bytes(object cls, PyObject** args,
                                     Py_ssize_t nargs, PyObject* kwnames):
    cdef PyObject* a[1]
    if kwnames == NULL and nargs == 1:
        return _message_from_bytes(cls, <object>args[0])
    _parse_args("from_bytes", ("data",), 1, args, nargs, kwnames, a)
    return _message_from_bytes(cls, <object>a[0])


_install_fast(AtomikContext, "accum", _fast_ctx_accum, "delta")
_install_fast(AtomikContext, "load", _fast_ctx_load, "value")
_install_fast(AtomikContext, "rollback", _fast_ctx_rollback, "delta")
_install_fast(AtomikTable, "accum", _fast_table_accum, "addr, delta")
_install_fast(AtomikTable, "load", _fast_table_load, "addr, initial_state")
_install_fast(AtomikTable, "read", _fast_table_read, "addr")
_install_fast(DeltaStream, "accum", _fast_stream_accum, "addr, delta")
_install_fast(DeltaStream, "apply", _fast_stream_apply, "msg, origin=None")
_install_fast(DeltaStream, "read", _fast_stream_read, "addr")
_install_fast(DeltaMessage, "from_bytes", _fast_message_from_bytes, "data",
              classmethod=True)
