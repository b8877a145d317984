//go:build !cgo

// Package native needs cgo: without it every entry point fails with ErrNoCgo.
package native

import (
	"context"
	"errors"
)

// ErrNoCgo is returned by every function of a build without cgo.
var ErrNoCgo = errors.New("native: built without cgo; the embedded interpreter is unavailable")

type Error struct{ Type, Message, Traceback string }

func (e *Error) Error() string { return e.Type + ": " + e.Message }

type Func struct{}
type Slot struct{}
type Budget struct {
	Setup   *Func
	Threads int
}
type EventSink func(data []byte)
type LogSink func(level int, name, message string)

func Init(string) error                    { return ErrNoCgo }
func Import(string) error                  { return ErrNoCgo }
func ReleaseMain()                         {}
func Lookup(string, string) (*Func, error) { return nil, ErrNoCgo }
func NewSlot() (*Slot, error)              { return nil, ErrNoCgo }
func SetLogSink(LogSink)                   {}
func (s *Slot) Call(context.Context, *Func, []byte, EventSink, Budget) ([]byte, error) {
	return nil, ErrNoCgo
}
