/* nb: the C side of the embedded interpreter; native.go documents each call.
 * Strings handed out are malloc'd and freed by the caller (free, nb_error_clear);
 * callables handed out (nb_fn) are strong references kept for the life of the process.
 * The int functions return 0 on success, else non-zero with *err filled. */
#ifndef NB_H
#define NB_H

#include <stddef.h>
#include <stdint.h>

/* An exception that reached the host. */
typedef struct nb_error {
    char *type;      /* qualified class name, e.g. "stockagent.errors.NotFound" */
    char *message;   /* str(exception) */
    char *traceback; /* formatted traceback, for logs */
} nb_error;

/* Frees the strings of err and sets them to NULL; safe on a cleared error. */
void nb_error_clear(nb_error *err);

/* A worker's call slot: what _nbridge reads while the worker runs a call. Each
 * call has a generation number, so a late cancel of an earlier call never
 * reaches a later one. nb_slot_cancel may be called from any thread, at any time. */
typedef struct nb_slot nb_slot;
nb_slot *nb_slot_new(void);
void nb_slot_cancel(nb_slot *slot, uint64_t gen);

typedef struct nb_fn nb_fn;

/* nb_init, nb_import_main and nb_release_main run on one thread, which holds
 * the GIL from nb_init to nb_release_main and never runs Python again. */
int nb_init(const char *executable, nb_error *err);
int nb_import_main(const char *module, nb_error *err);
void nb_release_main(void);

/* Any other thread: each takes the GIL with the thread's own state and releases it. */
int nb_lookup(const char *module, const char *name, nb_fn **fn, nb_error *err);
/* fn(bytes(in)) as call number gen of slot, in one crossing; first, when setup
 * is not NULL and this thread's budget is not `threads`, setup(b'{"threads": n}').
 * 0: *out is malloc'd (the caller frees it), *out_len its size. Non-zero: *out is NULL. */
int nb_call(nb_fn *fn, nb_slot *slot, uint64_t gen, uintptr_t handle, nb_fn *setup, int threads,
            const char *in, size_t in_len, char **out, size_t *out_len, nb_error *err);

#endif
