// Package pyapi is the typed Go side of the Go↔Python contract: one method
// per Python entry point, its request and answer types, and the error kinds
// Python may raise, all generated from the registry declared in Python
// (pymodules/stockagent/contract). Nothing here is written by hand but this
// file and kinds.go; CONTRIBUTING.md, "Adding an entry point", says how the
// pieces fit.
//
// contract.json is the registry as Python dumps it; pyapi.gen.go is what
// ./gen makes of it. Tests on both sides fail when either is stale.
//
// A request field Python does not require is sent only when set
// (omitempty): its zero value leaves Python's default, which the field's
// comment names. A boolean whose default is true is a pointer for that
// reason. Answers declared without a model are json.RawMessage, passed on
// as Python encoded them.
package pyapi

//go:generate ../../.venv/bin/python -m stockagent.contract.document contract.json
//go:generate go run ./gen contract.json pyapi.gen.go

import (
	"context"

	"stockagent/pybridge"
)

// Caller is the part of the bridge a Client uses; *pybridge.Interpreter
// implements it, and tests pass fakes keyed by the Func constants.
type Caller interface {
	Call(ctx context.Context, lane pybridge.Lane, fn string, req, resp any, opts ...pybridge.CallOption) error
}

// Client calls the entry points through a Caller. It is safe for
// concurrent use when its Caller is.
type Client struct{ py Caller }

// New returns a Client calling through py.
func New(py Caller) *Client { return &Client{py: py} }
