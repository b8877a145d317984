// Package tickers turns user-supplied ticker symbols into the one canonical
// form that task ids, model folders, cache keys, locks and limits are built
// from, so that every spelling of a symbol names the same model.
//
// The rules are docs/api.md's: trimmed and upper-cased; 1–12 characters of
// letters, digits, '.', '-', '^', '='; at least one letter or digit; not
// starting with '.'; no ".."; and PARENT reserved, because "parent" names the
// parent model. Canonical form: a '^' may only lead, and leads exactly when
// the symbol is an index (IndexStems), so AAPL, ^AAPL and ^^AAPL are AAPL and
// GSPC is ^GSPC. "%5E" (any case) is read as '^' before anything else, so a
// caret a client encoded once more than the URL decodes (/monitor/%255EGSPC,
// a query or a body holding %5EGSPC) still names the index; no other escape
// is decoded. The parent's aliases are "parent" (any case) and the symbol
// it learns from (PARENT_TICKER, ^GSPC by default). The Python side
// (stockagent/tickers.py) applies the same rules; testdata/canonical.json is
// the table both sides' tests read.
package tickers

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
)

// Parent is the model id of the parent model in requests to Python, and the
// reserved word no ticker may be.
const Parent = "parent"

// ParentTaskID is the task id of the parent model's training.
const ParentTaskID = "parent_training"

// MaxLen is the longest ticker accepted, as typed (an encoded caret, %5E,
// counts as the one character it stands for).
const MaxLen = 12

// IndexStems are the index symbols, without their caret: the indices Yahoo
// lists that we ship data for or name in reports. Python's INDEX_STEMS is
// the same list.
var IndexStems = []string{"DJI", "GSPC", "IXIC", "NDX", "RUT", "VIX"}

var isIndex = func() map[string]bool {
	m := make(map[string]bool, len(IndexStems))
	for _, s := range IndexStems {
		m[s] = true
	}
	return m
}()

// DefaultParentSymbol is what the parent model learns from unless
// PARENT_TICKER says otherwise.
const DefaultParentSymbol = "^GSPC"

// ParentSymbol is the canonical symbol the parent model learns from: the
// process's PARENT_TICKER (which Python reads too), read once. Python refuses
// to start with an invalid one, so the default here only covers tests.
var ParentSymbol = sync.OnceValue(func() string {
	if s, err := Normalize(os.Getenv("PARENT_TICKER")); err == nil {
		return s
	}
	return DefaultParentSymbol
})

// encodedCaret reads a percent-encoded caret as one.
var encodedCaret = strings.NewReplacer("%5E", "^", "%5e", "^")

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid ticker")

// space is what trimming removes; both sides trim exactly this (Go's and
// Python's ideas of Unicode white space differ).
const space = " \t\n\r\v\f"

// Normalize returns the canonical symbol of a user-supplied ticker, or an
// error wrapping ErrInvalid that says what is wrong. It never maps to the
// parent: Model does.
func Normalize(raw string) (string, error) {
	t := encodedCaret.Replace(strings.Trim(raw, space))
	switch {
	case t == "":
		return "", fmt.Errorf("%w: empty", ErrInvalid)
	case len(t) > MaxLen:
		return "", fmt.Errorf("%w %q: longer than %d characters", ErrInvalid, truncate(t), MaxLen)
	}
	// Checked before upper-casing: ToUpper would turn some non-ASCII letters
	// (ſ, ı) into ASCII ones.
	for _, r := range t {
		switch {
		case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case r == '.', r == '-', r == '^', r == '=':
		default:
			return "", fmt.Errorf("%w %q: character %q not allowed (letters, digits, . - ^ =)", ErrInvalid, t, r)
		}
	}
	t = strings.ToUpper(t)
	stem := strings.TrimLeft(t, "^")
	switch {
	case strings.Contains(stem, "^"):
		return "", fmt.Errorf("%w %q: '^' may only lead (it marks an index)", ErrInvalid, t)
	case !strings.ContainsAny(stem, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"):
		return "", fmt.Errorf("%w %q: needs a letter or digit", ErrInvalid, t)
	case stem[0] == '.':
		return "", fmt.Errorf("%w %q: starts with '.'", ErrInvalid, t)
	case strings.Contains(stem, ".."):
		return "", fmt.Errorf("%w %q: contains '..'", ErrInvalid, t)
	case stem == strings.ToUpper(Parent):
		return "", fmt.Errorf("%w: %q is reserved for the parent model", ErrInvalid, t)
	}
	if isIndex[stem] {
		return "^" + stem, nil
	}
	// A copy: raw may live in a request buffer that is reused once the
	// handler returns, and tickers travel on to tasks and caches.
	return strings.Clone(stem), nil
}

// Stem is the file-name stem of a canonical ticker, and so its model's folder
// name: leading '^' dropped (^GSPC is GSPC.csv), as the Python registry
// names it (stockagent/tickers.py). The parent's folder is "parent".
func Stem(ticker string) string {
	if ticker == Parent {
		return Parent
	}
	return strings.TrimLeft(ticker, "^")
}

// Model names a model from user input: Parent for "parent" (any case) and
// for every spelling of the parent's symbol, else the canonical ticker.
func Model(raw string) (string, error) {
	if strings.EqualFold(strings.Trim(raw, space), Parent) {
		return Parent, nil
	}
	t, err := Normalize(raw)
	if err != nil {
		return "", err
	}
	if t == ParentSymbol() {
		return Parent, nil
	}
	return t, nil
}

// TaskID is the training task id of a model: its ticker lower-cased, or
// ParentTaskID.
func TaskID(model string) string {
	if model == Parent {
		return ParentTaskID
	}
	return strings.ToLower(model)
}

// ModelOfTask is the model a task id trains: Parent or the upper-case ticker.
func ModelOfTask(id string) string {
	if id == ParentTaskID {
		return Parent
	}
	return strings.ToUpper(id)
}

// BacktestPrefix starts the task id of a model's backtest: BacktestPrefix +
// TaskID(model), so a model has at most one backtest running at a time.
const BacktestPrefix = "backtest_"

// BacktestTaskID is the backtest task id of a model.
func BacktestTaskID(model string) string { return BacktestPrefix + TaskID(model) }

// FromTaskID turns a task id from a URL back into the task id it names:
// "parent" is an alias of "parent_training"; "backtest_" and any spelling of
// a model is that model's backtest; any other id is read as a ticker (so
// ^aapl is aapl, and gspc is parent_training).
func FromTaskID(raw string) (string, error) {
	id := strings.ToLower(strings.Trim(raw, space))
	if id == ParentTaskID {
		return ParentTaskID, nil
	}
	if rest, ok := strings.CutPrefix(id, BacktestPrefix); ok {
		inner, err := FromTaskID(rest)
		if err != nil || strings.HasPrefix(inner, BacktestPrefix) {
			return "", fmt.Errorf("%q names no backtest task", truncate(raw))
		}
		return BacktestPrefix + inner, nil
	}
	m, err := Model(id)
	if err != nil {
		return "", err
	}
	return TaskID(m), nil
}

func truncate(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}
