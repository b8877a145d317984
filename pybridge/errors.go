package pybridge

import (
	"errors"
	"fmt"

	"stockagent/native"
)

// PyError is a Python exception that reached Go.
type PyError struct {
	Func      string // the function called, "module:function"
	Type      string // qualified class name; the HTTP layer maps it to a status
	Message   string
	Traceback string // for logs only, never for clients
}

func (e *PyError) Error() string {
	return fmt.Sprintf("pybridge: %s raised %s: %s", e.Func, e.Type, e.Message)
}

// Is reports whether target names e's Python class: an error value with a
// PythonType method (the error kinds generated in server/pyapi) matches the
// exception whose qualified class name it returns, so callers write
// errors.Is(err, pyapi.ErrNotFound) and never spell a class name.
func (e *PyError) Is(target error) bool {
	k, ok := target.(interface{ PythonType() string })
	return ok && k.PythonType() == e.Type
}

var (
	// ErrPoolClosed is returned by calls made after Shutdown began.
	ErrPoolClosed = errors.New("pybridge: pool closed")
	// ErrStarted is returned by a second Start: a process has one interpreter.
	ErrStarted = errors.New("pybridge: interpreter already started")
	// ErrLaneFull is wrapped by calls refused because their lane's waiting
	// calls are at the bound (Config.AgentQueue): the caller may retry later.
	ErrLaneFull = errors.New("pybridge: lane full")
	// ErrBadFunc is returned for a function name not of the form "module:function".
	ErrBadFunc = errors.New(`pybridge: function must be named "module:function"`)
)

// fromNative is the one place where errors coming out of the interpreter are converted.
func fromNative(fn string, err error) error {
	var ne *native.Error
	if errors.As(err, &ne) {
		return &PyError{Func: fn, Type: ne.Type, Message: ne.Message, Traceback: ne.Traceback}
	}
	return err
}
