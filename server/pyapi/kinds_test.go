package pyapi

import (
	"errors"
	"fmt"
	"testing"

	"stockagent/pybridge"
)

func TestKindOf(t *testing.T) {
	err := fmt.Errorf("forecast: %w", &pybridge.PyError{Type: string(ErrModelMissing), Message: "no model"})
	if k, ok := KindOf(err); !ok || k != ErrModelMissing || !errors.Is(err, ErrModelMissing) || errors.Is(err, ErrNotFound) {
		t.Fatalf("KindOf = %v %v", k, ok)
	}
	for _, err := range []error{
		&pybridge.PyError{Type: "builtins.KeyError", Message: "x"}, // outside the contract: an internal error
		errors.New("stockagent.errors.NotFound"),
		nil,
	} {
		if k, ok := KindOf(err); ok {
			t.Errorf("KindOf(%v) = %v", err, k)
		}
	}
}
