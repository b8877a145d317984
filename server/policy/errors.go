package policy

import (
	"errors"
	"fmt"
	"strings"
)

// LoadError is a policy that cannot be loaded. Load and Parse return it for
// every refusal, so a caller can report File and Line or test them with
// errors.As.
type LoadError struct {
	File   string // the path given to Load, or the name given to Parse
	Line   int    // 1-based; 0 when the problem is the file as a whole
	Rule   string // the rule concerned, "" when none
	Reason string
}

func (e *LoadError) Error() string {
	where := e.File
	if e.Line > 0 {
		where = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Rule != "" {
		return fmt.Sprintf("policy: %s: %s: %s", where, e.Rule, e.Reason)
	}
	return fmt.Sprintf("policy: %s: %s", where, e.Reason)
}

// EvalError is a rule that failed while being evaluated: it raised (a type
// error, a division by zero…), returned a value of a type rules may not return,
// or returned a value the service does not know.
type EvalError struct {
	Rule string
	Err  error
}

func (e *EvalError) Error() string {
	return fmt.Sprintf("policy: rule %s: %s", e.Rule, strings.TrimPrefix(e.Err.Error(), "policy: "))
}
func (e *EvalError) Unwrap() error { return e.Err }

var (
	// ErrUnknownRule means Eval was asked for a rule the policy does not define.
	ErrUnknownRule = errors.New("policy: unknown rule")
	// ErrUnknownInput means an input name that is not documented (see Inputs).
	ErrUnknownInput = errors.New("policy: unknown input")
	// ErrInputType means an input of the wrong Go type.
	ErrInputType = errors.New("policy: wrong input type")
	// ErrMissingInput means a rule needs an input the caller did not pass.
	ErrMissingInput = errors.New("policy: missing input")
	// ErrResultType means a rule returned something other than None, bool, a
	// 64-bit int, float or str.
	ErrResultType = errors.New("policy: rules must return None, bool, int, float or str")
	// ErrResultValue means a well-known rule returned a value outside its list.
	ErrResultValue = errors.New("policy: unexpected result")
	// ErrNaN means a typed helper was given NaN for a measurement the thresholds
	// compare; NaN compares false everywhere and would read as healthy.
	ErrNaN = errors.New("policy: measurement is NaN")
)
