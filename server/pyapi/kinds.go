package pyapi

import (
	"errors"
	"slices"

	"stockagent/pybridge"
)

// ErrorKind is an exception class of stockagent/errors.py, named by its
// qualified name. The kinds are error values: errors.Is(err, ErrNotFound)
// holds for a *pybridge.PyError of that class (see pybridge.PyError.Is), and
// errors.As still reaches the PyError for its message and traceback.
type ErrorKind string

func (k ErrorKind) Error() string { return "pyapi: python raised " + string(k) }

// PythonType is the qualified class name pybridge.PyError.Is compares.
func (k ErrorKind) PythonType() string { return string(k) }

// KindOf returns the kind of the Python exception in err's chain, or false
// when err holds none or one outside the contract (an internal error).
func KindOf(err error) (ErrorKind, bool) {
	var pe *pybridge.PyError
	if !errors.As(err, &pe) || !slices.Contains(ErrorKinds, ErrorKind(pe.Type)) {
		return "", false
	}
	return ErrorKind(pe.Type), true
}
