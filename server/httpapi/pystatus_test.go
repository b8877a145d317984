package httpapi

import (
	"testing"

	"stockagent/server/pyapi"
)

// A kind added to stockagent/errors.py must get a status here, or it would answer 0.
func TestEveryPythonErrorKindHasAStatus(t *testing.T) {
	for _, k := range pyapi.ErrorKinds {
		if pyStatus[k] < 400 {
			t.Errorf("%s has no status in pyStatus", k)
		}
	}
}
