package vectorstore

import (
	"errors"
	"fmt"
)

var (
	// ErrUnavailable is wrapped, beside the underlying error, when the backend cannot be
	// reached or cannot answer in time (connection refused or lost, a timeout, Qdrant
	// overloaded). The HTTP layer then serves without the cache.
	ErrUnavailable = errors.New("vectorstore: unavailable")

	// ErrClosed is wrapped by every call made after Close.
	ErrClosed = errors.New("vectorstore: closed")
)

// DimensionError reports a vector whose length is not the store's dimension.
type DimensionError struct {
	Want int // the store's dimension; when opening, that of the file or collection found
	Got  int // the offending vector's length; when opening, the dimension asked for
	// Where names what holds Want, e.g. `collection "stockagent_reports"`; may be empty.
	Where string
}

func (e *DimensionError) Error() string {
	where := "the store"
	if e.Where != "" {
		where = e.Where
	}
	return fmt.Sprintf("vectorstore: dimension mismatch: %s holds %d-dimensional vectors, got %d", where, e.Want, e.Got)
}
