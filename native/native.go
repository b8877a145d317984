//go:build cgo

// Package native is the C side of the embedded CPython interpreter and the only
// cgo in the project: start-up, one thread state per worker thread, the call
// (bytes in, bytes out), exception capture and the _nbridge module through
// which Python reaches the host. Its compiler and linker flags come from the
// venv's interpreter (the Makefile exports CGO_CFLAGS and CGO_LDFLAGS).
//
// Thread rules, from CPython's "Thread State and the GIL": Init, Import and
// ReleaseMain run on one OS thread, which must never run Python again (its
// goroutine stays locked to it). Every other OS thread that calls in gets a
// thread state of its own on its first call and keeps it; a call is one cgo
// crossing, so the goroutine cannot change threads in the middle of it.
package native

/*
#include <stdlib.h>
#include "nb.h"
*/
import "C"

import (
	"context"
	"errors"
	"runtime/cgo"
	"unsafe"
)

// Error is a Python exception that reached Go.
type Error struct {
	Type      string // qualified class name, e.g. "stockagent.errors.NotFound"
	Message   string
	Traceback string // for logs only
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

// check is where errors cross: a non-zero rc takes the C error, converted and cleared.
func check(rc C.int, cerr *C.nb_error) error {
	if rc == 0 {
		return nil
	}
	defer C.nb_error_clear(cerr)
	return &Error{Type: C.GoString(cerr._type), Message: C.GoString(cerr.message), Traceback: C.GoString(cerr.traceback)}
}

// Init starts the interpreter with executable (a virtual environment's
// python) as sys.executable and Python's signal handlers off. On success the
// calling OS thread holds the GIL until ReleaseMain.
func Init(executable string) error {
	cexe := C.CString(executable)
	defer C.free(unsafe.Pointer(cexe))
	var cerr C.nb_error
	return check(C.nb_init(cexe, &cerr), &cerr)
}

// Import imports module on the thread that called Init, before ReleaseMain.
func Import(module string) error {
	cmod := C.CString(module)
	defer C.free(unsafe.Pointer(cmod))
	var cerr C.nb_error
	return check(C.nb_import_main(cmod, &cerr), &cerr)
}

// ReleaseMain releases the GIL that Init left with the calling thread.
func ReleaseMain() { C.nb_release_main() }

// Func is a Python callable looked up once and kept for the life of the process.
type Func struct{ p *C.nb_fn }

// Lookup imports module and returns its attribute name, which must be callable.
func Lookup(module, name string) (*Func, error) {
	cmod := C.CString(module)
	defer C.free(unsafe.Pointer(cmod))
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var fn *C.nb_fn
	var cerr C.nb_error
	if err := check(C.nb_lookup(cmod, cname, &fn, &cerr), &cerr); err != nil {
		return nil, err
	}
	return &Func{p: fn}, nil
}

// Slot is one worker's call slot: its cancel flag and event token, as Python's
// _nbridge module sees them during a call. A Slot runs one call at a time; its
// C memory lives as long as the process, as its lane does.
type Slot struct {
	s   *C.nb_slot
	gen uint64 // number of the last call; guarded by the slot's single user
}

// NewSlot allocates a call slot.
func NewSlot() (*Slot, error) {
	s := C.nb_slot_new()
	if s == nil {
		return nil, errors.New("native: cannot allocate a call slot")
	}
	return &Slot{s: s}, nil
}

// Budget is the native (torch/BLAS) thread count a call may use: Setup is
// called with {"threads": Threads} on an OS thread whose budget differs, before
// the call. A zero Budget leaves the thread as it is.
type Budget struct {
	Setup   *Func
	Threads int
}

// EventSink receives the events a call sends (Python's _nbridge.emit), in
// order, on the calling thread while the call runs and with the GIL released.
// The slice is valid only during the call.
type EventSink func(data []byte)

// Call runs fn(in) on the calling OS thread, with that thread's own Python
// thread state, and returns the bytes fn returned. Events the call sends go to
// sink (nil drops them).
//
// When ctx ends (deadline, cancellation) the call's cancel flag is set and
// Python sees it at its next check (stockagent.runtime.cancelled()). Nothing
// can stop a Python thread that never checks: such a call runs to its end.
func (s *Slot) Call(ctx context.Context, fn *Func, in []byte, sink EventSink, b Budget) ([]byte, error) {
	s.gen++
	gen := C.uint64_t(s.gen)
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { C.nb_slot_cancel(s.s, gen) })
		defer stop()
	}
	var handle C.uintptr_t
	if sink != nil {
		h := cgo.NewHandle(sink)
		defer h.Delete()
		handle = C.uintptr_t(h)
	}
	var setup *C.nb_fn
	if b.Setup != nil {
		setup = b.Setup.p
	}
	var inp *C.char
	if len(in) > 0 {
		inp = (*C.char)(unsafe.Pointer(&in[0])) // C reads it during the call only
	}
	var out *C.char
	var outLen C.size_t
	var cerr C.nb_error
	if err := check(C.nb_call(fn.p, s.s, gen, handle, setup, C.int(b.Threads), inp, C.size_t(len(in)), &out, &outLen, &cerr), &cerr); err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(out))
	return C.GoBytes(unsafe.Pointer(out), C.int(outLen)), nil
}

// LogSink receives Python's log records and its stdout/stderr lines.
type LogSink func(level int, name, message string)

var logSink LogSink

// SetLogSink installs the receiver of Python's log records. It must be called
// before Init: the interpreter is process-wide, and so is its log.
func SetLogSink(s LogSink) { logSink = s }
