/* nb: the C side of the embedded interpreter.
 *
 * Every symbol carries the nb_ prefix. Ownership is stated on each function:
 * strings handed out are malloc'd and freed by the caller with nb_free or
 * nb_error_clear; Python objects handed out (nb_fn) are strong references the
 * interpreter keeps for the life of the process.
 */
#ifndef NB_H
#define NB_H

#include <stddef.h>
#include <stdint.h>

/* An exception that reached the host, as three malloc'd UTF-8 strings. */
typedef struct nb_error {
    char *type;      /* qualified class name, e.g. "stockagent.errors.NotFound" */
    char *message;   /* str(exception) */
    char *traceback; /* formatted traceback, for logs */
} nb_error;

/* Frees the strings of err and sets them to NULL; safe on a cleared error. */
void nb_error_clear(nb_error *err);

/* A worker's call slot: what Python's _nbridge module reads while the worker
 * runs a call. Allocated by nb_slot_new, freed by nb_slot_free. Each call has
 * a generation number, so a late cancel of an earlier call never reaches a
 * later one. */
typedef struct nb_slot nb_slot;
nb_slot *nb_slot_new(void);
void nb_slot_free(nb_slot *slot);
/* Cancels call number gen of this slot; any thread may call it, at any time. */
void nb_slot_cancel(nb_slot *slot, uint64_t gen);

/* A callable cached by the host (a strong reference, never released). */
typedef struct nb_fn nb_fn;

/* Starts the interpreter with Python's signal handlers off and `executable`
 * (a virtual environment's python) as sys.executable, so site finds the
 * venv and runs its .pth files. Registers the built-in module _nbridge.
 * 0 on success: the calling thread holds the GIL and owns the main thread
 * state until nb_release_main. Non-zero: *err is filled (clear it). */
int nb_init(const char *executable, nb_error *err);

/* Imports a module on the thread that called nb_init, before nb_release_main.
 * 0 on success, non-zero with *err filled. */
int nb_import_main(const char *module, nb_error *err);

/* Releases the GIL held since nb_init. The main thread state stays bound to
 * the calling thread, which must never run Python again. */
void nb_release_main(void);

/* Every other OS thread that calls in gets its own thread state on its first
 * call, kept for the life of the thread, so a call costs a GIL hand-over and
 * no thread-state churn (PyGILState_Ensure on a fresh thread would create and
 * destroy one per call). The functions below take and release the GIL. */

/* Imports module and returns its attribute name as *fn (a new strong
 * reference the caller keeps). 0 on success, else *err is filled. */
int nb_lookup(const char *module, const char *name, nb_fn **fn, nb_error *err);

/* Calls fn(bytes(in)) as call number gen of slot, in one crossing: take the
 * GIL, call, copy the result out, release the GIL. fn must return bytes.
 * When setup is not NULL and this thread's native thread budget is not
 * `threads`, setup(b'{"threads": n}') runs first.
 * 0 on success: *out is malloc'd (caller frees it with nb_free), *out_len its size.
 * Non-zero: *err holds type, message and traceback (free with nb_error_clear);
 * *out is NULL. */
int nb_call(nb_fn *fn, nb_slot *slot, uint64_t gen, uintptr_t handle, nb_fn *setup, int threads,
            const char *in, size_t in_len, char **out, size_t *out_len, nb_error *err);

void nb_free(void *p);

#endif
