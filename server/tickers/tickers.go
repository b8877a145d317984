// Package tickers validates ticker symbols before anything else touches them.
//
// The rules are API.md's: trimmed and upper-cased; 1–12 characters of letters,
// digits, '.', '-', '^', '='; at least one letter or digit; not starting with
// '.'; no ".."; and PARENT reserved, because "parent" names the parent model.
package tickers

import (
	"errors"
	"fmt"
	"strings"
)

// Parent is the model id of the parent model in requests to Python, and the
// reserved word no ticker may be.
const Parent = "parent"

// ParentTaskID is the task id of the parent model's training.
const ParentTaskID = "parent_training"

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid ticker")

// Normalize returns the canonical form of a user-supplied ticker, or an error
// wrapping ErrInvalid that says what is wrong.
func Normalize(raw string) (string, error) {
	t := strings.ToUpper(strings.TrimSpace(raw))
	switch {
	case t == "":
		return "", fmt.Errorf("%w: empty", ErrInvalid)
	case len(t) > 12:
		return "", fmt.Errorf("%w %q: longer than 12 characters", ErrInvalid, truncate(t))
	case t == strings.ToUpper(Parent):
		return "", fmt.Errorf("%w: %q is reserved for the parent model", ErrInvalid, t)
	case t[0] == '.':
		return "", fmt.Errorf("%w %q: starts with '.'", ErrInvalid, t)
	case strings.Contains(t, ".."):
		return "", fmt.Errorf("%w %q: contains '..'", ErrInvalid, t)
	}
	alnum := false
	for _, r := range t {
		switch {
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			alnum = true
		case r == '.', r == '-', r == '^', r == '=':
		default:
			return "", fmt.Errorf("%w %q: character %q not allowed (letters, digits, . - ^ =)", ErrInvalid, t, r)
		}
	}
	if !alnum {
		return "", fmt.Errorf("%w %q: needs a letter or digit", ErrInvalid, t)
	}
	if s := Stem(t); s == "" || s[0] == '.' || s == strings.ToUpper(Parent) {
		return "", fmt.Errorf("%w %q: has no safe file name", ErrInvalid, t)
	}
	// A copy: raw may live in a request buffer that is reused once the
	// handler returns, and tickers travel on to tasks and caches.
	return strings.Clone(t), nil
}

// Stem is the file-name stem of a valid ticker, and so its model's folder
// name: leading '^' dropped (^GSPC is GSPC.csv), as the Python registry
// names it (stockagent/tickers.py). The parent's folder is "parent".
func Stem(ticker string) string {
	if ticker == Parent {
		return Parent
	}
	return strings.TrimLeft(ticker, "^")
}

// Model names a model from user input: "parent" (any case) for the parent,
// else the validated ticker.
func Model(raw string) (string, error) {
	if strings.EqualFold(strings.TrimSpace(raw), Parent) {
		return Parent, nil
	}
	return Normalize(raw)
}

// TaskID is the training task id of a ticker (lower case) or of the parent.
func TaskID(ticker string) string {
	if ticker == Parent {
		return ParentTaskID
	}
	return strings.ToLower(ticker)
}

// ModelOfTask is the model a task id trains: "parent" or the upper-case ticker.
func ModelOfTask(id string) string {
	if id == ParentTaskID {
		return Parent
	}
	return strings.ToUpper(id)
}

// FromTaskID turns a task id from a URL back into the task id it names:
// "parent" is an alias of "parent_training"; other ids are validated tickers.
func FromTaskID(raw string) (string, error) {
	id := strings.ToLower(strings.TrimSpace(raw))
	if id == Parent || id == ParentTaskID {
		return ParentTaskID, nil
	}
	t, err := Normalize(id)
	if err != nil {
		return "", err
	}
	return strings.ToLower(t), nil
}

func truncate(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}
