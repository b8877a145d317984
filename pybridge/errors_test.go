package pybridge

import (
	"errors"
	"fmt"
	"testing"
)

// kind stands in for the error kinds server/pyapi generates.
type kind string

func (k kind) Error() string      { return string(k) }
func (k kind) PythonType() string { return string(k) }

func TestPyErrorIsTheKindOfItsClass(t *testing.T) {
	err := fmt.Errorf("forecast: %w", &PyError{Func: "m:f", Type: "pkg.errors.NotFound", Message: "no model"})
	if !errors.Is(err, kind("pkg.errors.NotFound")) {
		t.Errorf("errors.Is(%v, NotFound) = false", err)
	}
	if errors.Is(err, kind("pkg.errors.Conflict")) || errors.Is(err, errors.New("pkg.errors.NotFound")) {
		t.Errorf("%v matches another kind, or an error without PythonType", err)
	}
	var pe *PyError
	if !errors.As(err, &pe) || pe.Message != "no model" {
		t.Errorf("errors.As lost the PyError: %v", pe)
	}
}
