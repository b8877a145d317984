//go:build cgo

/* The embedded interpreter: start-up, thread states, the call, exception
 * capture, and the built-in module _nbridge through which Python code reaches
 * the host (cancel flag, progress events, logging). */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include <string.h>

#include "nb.h"
#include "_cgo_export.h"

struct nb_slot {
    uint64_t gen;        /* the call running now; written by its thread */
    uint64_t cancel_gen; /* the last call cancelled; read and written atomically */
    uintptr_t handle;    /* the Go side's token for this call; 0 = no events wanted */
};

/* This OS thread's state, made on its first call and kept for its life, and
 * the native thread budget last set on it (0: never). */
static __thread PyThreadState *nb_ts;
static __thread int nb_threads;

/* The call this thread runs now, or NULL between calls. */
static __thread nb_slot *nb_current;

static PyInterpreterState *nb_interp;

void nb_error_clear(nb_error *err) {
    free(err->type);
    free(err->message);
    free(err->traceback);
    err->type = err->message = err->traceback = NULL;
}

static void nb_error_set(nb_error *err, const char *type, const char *message) {
    nb_error_clear(err);
    err->type = strdup(type);
    err->message = strdup(message);
    err->traceback = strdup("");
}

/* str(obj) as a malloc'd string, or a copy of fallback; never leaves an exception set. */
static char *nb_str(PyObject *obj, const char *fallback) {
    char *res = NULL;
    PyObject *s = obj ? PyObject_Str(obj) : NULL; /* new reference */
    if (s != NULL) {
        Py_ssize_t n;
        const char *u = PyUnicode_AsUTF8AndSize(s, &n); /* borrowed buffer of s */
        if (u != NULL) res = strndup(u, (size_t)n);
    }
    Py_XDECREF(s);
    PyErr_Clear();
    return res ? res : strdup(fallback);
}

/* Takes the raised exception into *err and leaves the indicator clear.
 * Called with the GIL held and an exception set. */
static void nb_capture(nb_error *err) {
    PyObject *type = NULL, *value = NULL, *tb = NULL;
    PyObject *mod = NULL, *qual = NULL, *tbmod = NULL, *lines = NULL, *sep = NULL, *joined = NULL;

    nb_error_clear(err);
    PyErr_Fetch(&type, &value, &tb); /* new references, indicator cleared */
    if (type == NULL) {
        nb_error_set(err, "RuntimeError", "error reported without an exception");
        return;
    }
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL && value != NULL) PyException_SetTraceback(value, tb);

    mod = PyObject_GetAttrString(type, "__module__");      /* new reference */
    qual = PyObject_GetAttrString(type, "__qualname__");   /* new reference */
    PyErr_Clear();
    char *m = nb_str(mod, "builtins"), *q = nb_str(qual, "Exception");
    if (strcmp(m, "builtins") == 0) err->type = strdup(q);
    else if (asprintf(&err->type, "%s.%s", m, q) < 0) err->type = NULL;
    free(m);
    free(q);
    err->message = nb_str(value, "");

    tbmod = PyImport_ImportModule("traceback"); /* new reference */
    if (tbmod != NULL)
        lines = PyObject_CallMethod(tbmod, "format_exception", "OOO", type,
                                    value ? value : Py_None, tb ? tb : Py_None); /* new reference */
    if (lines != NULL) sep = PyUnicode_FromString("");                          /* new reference */
    if (sep != NULL) joined = PyUnicode_Join(sep, lines);                      /* new reference */
    err->traceback = nb_str(joined, "(traceback unavailable)");

    Py_XDECREF(joined);
    Py_XDECREF(sep);
    Py_XDECREF(lines);
    Py_XDECREF(tbmod);
    Py_XDECREF(qual);
    Py_XDECREF(mod);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    PyErr_Clear();
}

nb_slot *nb_slot_new(void) { return calloc(1, sizeof(nb_slot)); }
void nb_slot_cancel(nb_slot *slot, uint64_t gen) { __atomic_store_n(&slot->cancel_gen, gen, __ATOMIC_RELEASE); }

/* The _nbridge module. */

static PyObject *nb_py_in_call(PyObject *self, PyObject *unused) {
    return PyBool_FromLong(nb_current != NULL);
}

static PyObject *nb_py_cancelled(PyObject *self, PyObject *unused) {
    nb_slot *s = nb_current;
    return PyBool_FromLong(s != NULL && __atomic_load_n(&s->cancel_gen, __ATOMIC_ACQUIRE) == s->gen);
}

/* emit(data: bytes): hands one event of the current call to Go. The GIL is
 * released while Go takes it; the bytes object stays alive through args. */
static PyObject *nb_py_emit(PyObject *self, PyObject *arg) {
    char *data;
    Py_ssize_t n;
    nb_slot *s = nb_current;
    if (PyBytes_AsStringAndSize(arg, &data, &n) < 0) return NULL;
    if (s == NULL || s->handle == 0) Py_RETURN_NONE;
    uintptr_t h = s->handle;
    Py_BEGIN_ALLOW_THREADS
    nbGoEvent(h, data, (size_t)n);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* log(level: int, name: str, message: str): one record for the host's logger. */
static PyObject *nb_py_log(PyObject *self, PyObject *args) {
    int level;
    const char *name, *msg;
    Py_ssize_t name_n, msg_n;
    if (!PyArg_ParseTuple(args, "is#s#", &level, &name, &name_n, &msg, &msg_n)) return NULL;
    Py_BEGIN_ALLOW_THREADS
    nbGoLog(level, (char *)name, (size_t)name_n, (char *)msg, (size_t)msg_n);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyMethodDef nb_methods[] = {
    {"in_call", nb_py_in_call, METH_NOARGS, "True while this thread runs a call from the host."},
    {"cancelled", nb_py_cancelled, METH_NOARGS, "True once the host cancelled the current call."},
    {"emit", nb_py_emit, METH_O, "Send an event (bytes) of the current call to the host."},
    {"log", nb_py_log, METH_VARARGS, "Send a log record (level, name, message) to the host."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef nb_module = {
    PyModuleDef_HEAD_INIT, "_nbridge", "The Go host of this interpreter.", -1, nb_methods,
};

static PyObject *nb_module_init(void) { return PyModule_Create(&nb_module); }

int nb_init(const char *executable, nb_error *err) {
    PyStatus status;
    PyConfig config;

    if (Py_IsInitialized()) {
        nb_error_set(err, "RuntimeError", "interpreter already initialised");
        return -1;
    }
    if (PyImport_AppendInittab("_nbridge", nb_module_init) < 0) {
        nb_error_set(err, "RuntimeError", "cannot register _nbridge");
        return -1;
    }
    PyConfig_InitPythonConfig(&config);
    config.install_signal_handlers = 0; /* Go owns signals */
    config.parse_argv = 0;
    config.use_environment = 0;         /* the host owns the environment: no PYTHON* variables */
    config.user_site_directory = 0;
    /* sys.executable inside the venv makes site find pyvenv.cfg and run the .pth files */
    status = PyConfig_SetBytesString(&config, &config.executable, executable);
    if (PyStatus_Exception(status)) goto fail;
    status = Py_InitializeFromConfig(&config);
    if (PyStatus_Exception(status)) goto fail;
    PyConfig_Clear(&config);
    nb_interp = PyInterpreterState_Main();
    return 0;

fail:
    PyConfig_Clear(&config);
    nb_error_set(err, "RuntimeError", status.err_msg ? status.err_msg : "interpreter start failed");
    return -1;
}

int nb_import_main(const char *module, nb_error *err) {
    PyObject *m = PyImport_ImportModule(module); /* new reference */
    if (m == NULL) {
        nb_capture(err);
        return -1;
    }
    Py_DECREF(m); /* sys.modules keeps it */
    return 0;
}

void nb_release_main(void) { PyEval_SaveThread(); /* the main thread state stays bound to this thread */ }

/* Takes the GIL with this thread's own state, creating it on first use. */
static void nb_enter(void) {
    if (nb_ts == NULL) nb_ts = PyThreadState_New(nb_interp); /* binds to this OS thread */
    PyEval_RestoreThread(nb_ts);
}

int nb_lookup(const char *module, const char *name, nb_fn **fn, nb_error *err) {
    int rc = -1;
    PyObject *m = NULL, *f = NULL;

    *fn = NULL;
    nb_enter();
    m = PyImport_ImportModule(module); /* new reference */
    if (m == NULL) goto done;
    f = PyObject_GetAttrString(m, name); /* new reference, handed to the caller */
    if (f == NULL) goto done;
    if (!PyCallable_Check(f)) {
        PyErr_Format(PyExc_TypeError, "%s.%s is not callable", module, name);
        goto done;
    }
    *fn = (nb_fn *)f;
    f = NULL;
    rc = 0;
done:
    if (rc != 0) nb_capture(err);
    Py_XDECREF(f);
    Py_XDECREF(m);
    PyEval_SaveThread();
    return rc;
}

/* Sets this thread's native thread budget through setup, once per change. */
static int nb_budget(nb_fn *setup, int threads) {
    char buf[32];
    int n = snprintf(buf, sizeof buf, "{\"threads\":%d}", threads);
    PyObject *arg = PyBytes_FromStringAndSize(buf, n); /* new reference */
    PyObject *res = arg ? PyObject_CallOneArg((PyObject *)setup, arg) : NULL; /* new reference */
    Py_XDECREF(arg);
    if (res == NULL) return -1;
    Py_DECREF(res);
    nb_threads = threads;
    return 0;
}

int nb_call(nb_fn *fn, nb_slot *slot, uint64_t gen, uintptr_t handle, nb_fn *setup, int threads,
            const char *in, size_t in_len, char **out, size_t *out_len, nb_error *err) {
    int rc = -1;
    PyObject *arg = NULL, *res = NULL;
    char *data;
    Py_ssize_t n;

    *out = NULL;
    *out_len = 0;
    slot->gen = gen;
    slot->handle = handle;
    nb_enter();
    nb_current = slot;
    if (setup != NULL && nb_threads != threads && nb_budget(setup, threads) < 0) goto done;

    arg = PyBytes_FromStringAndSize(in, (Py_ssize_t)in_len); /* new reference */
    if (arg == NULL) goto done;
    res = PyObject_CallOneArg((PyObject *)fn, arg); /* new reference */
    if (res == NULL) goto done;
    if (!PyBytes_Check(res)) {
        PyErr_Format(PyExc_TypeError, "function returned %.200s, expected bytes", Py_TYPE(res)->tp_name);
        goto done;
    }
    if (PyBytes_AsStringAndSize(res, &data, &n) < 0) goto done; /* borrowed buffer of res */
    *out = malloc(n > 0 ? (size_t)n : 1);
    if (*out == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    memcpy(*out, data, (size_t)n);
    *out_len = (size_t)n;
    rc = 0;
done:
    if (rc != 0) nb_capture(err);
    Py_XDECREF(res);
    Py_XDECREF(arg);
    nb_current = NULL;
    PyEval_SaveThread();
    slot->handle = 0;
    return rc;
}
