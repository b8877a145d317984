// Package vectorstore is the semantic cache of analyst reports: each report is stored as a
// Point (its Scope: ticker, model version and data date; the embedding of the text it was
// written from, its creation time and the cached /analyze answer), and a later request of
// the same scope with a similar enough embedding, made soon enough, is answered from it
// without running the agent.
//
// Store is the interface; there are two implementations with the same semantics:
//
//   - Memory, an in-process brute-force cosine index, persisted to one file in the data
//     folder (FileName) so that it survives a restart;
//   - Qdrant, a collection on a Qdrant server reached over gRPC through
//     github.com/qdrant/go-client, shared by every server process pointed at it.
//
// Open picks one: "" for Memory, else a Qdrant address ("http://host:6334", "host:6334").
// Expire runs the janitor that deletes points older than the cache's horizon.
//
// Scores are cosine similarities in [-1, 1]. Vectors are normalised to unit length when
// stored; creation times have millisecond resolution in both backends, so "created at
// or after since" means the same thing in each. The first vector fixes the store's
// dimension (unless Open was given one); a vector of another length is a *DimensionError.
// Errors name the backend and the operation (`vectorstore: qdrant search "AAPL": …`) and
// wrap the sentinels ErrUnavailable (the backend cannot be reached: run without the cache)
// and ErrClosed.
//
// # Tests
//
// Both backends pass one suite (suite_test.go). No Qdrant server installs from the package
// registries this project uses, so by default the Qdrant backend is tested against
// package qdranttest, an in-process gRPC server that implements the part of Qdrant's API
// this package calls and evaluates filters and score thresholds itself. To run the same
// suite against a real Qdrant, point QDRANT_URL_TEST at its gRPC port (and set
// QDRANT_API_KEY_TEST if it needs a key):
//
//	QDRANT_URL_TEST=http://localhost:6334 go test ./server/vectorstore/...
//
// Each test then works in a collection of its own, named after the test, and drops it
// when it ends.
package vectorstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Defaults for the semantic cache. They are the HTTP layer's defaults too; this package
// applies none of them by itself except where a doc comment says so.
const (
	// DefaultMinScore is the cosine similarity a stored report must reach to answer a
	// request. Two cache texts for the same ticker differ only in the forecast buckets
	// and the headlines, so their embeddings are close to begin with; 0.95 demands
	// nearly the same news and forecast, which is what "already written" means here.
	DefaultMinScore = 0.95

	// DefaultMaxAge is how old a stored report may be and still answer: a day, after
	// which the market has moved on and a new report is worth its cost.
	DefaultMaxAge = 24 * time.Hour

	// DefaultExpireEvery is how often Expire deletes points older than the horizon.
	// Searches ignore old points anyway, so this only bounds how much dead data a store
	// holds; ten minutes keeps that to a few reports per ticker.
	DefaultExpireEvery = 10 * time.Minute

	// DefaultCollection is the Qdrant collection used unless WithCollection says otherwise.
	DefaultCollection = "stockagent_reports"

	// FileName is the file, inside the data folder, in which Memory keeps its points.
	FileName = "semantic_cache.json"
)

// Scope is what a report was written from. A search matches it field by field, exactly:
// a report of another model version, or of prices that end on another day, never answers,
// however close its text, because a new serving version or a new close calls for a new
// report. Every field is required.
type Scope struct {
	// Ticker: callers normalise it (upper case) before storing or searching.
	Ticker string

	// ModelVersion is the serving model version whose forecast the report describes.
	ModelVersion string

	// DataAsOf is the date of the last close that forecast rests on (YYYY-MM-DD).
	DataAsOf string
}

// check says which required field is empty.
func (s Scope) check() error {
	switch {
	case s.Ticker == "":
		return errors.New("empty ticker")
	case s.ModelVersion == "":
		return errors.New("empty model version")
	case s.DataAsOf == "":
		return errors.New("empty data date")
	}
	return nil
}

// Point is one stored report.
type Point struct {
	// ID identifies the point: a UUID in its canonical 36-character form, in either case
	// (NewID makes one; stores hand it back in lower case). Upserting an ID that exists
	// replaces that point.
	ID string

	Scope

	// Vector is the embedding of the report's cache text. It must be non-zero and finite;
	// stores keep it normalised to unit length, so a Hit's Vector has length 1.
	Vector []float32

	// CreatedAt is when the report was written; zero means now. Stores keep it to the
	// millisecond.
	CreatedAt time.Time

	// Payload is the cached /analyze answer: valid JSON, or empty.
	Payload json.RawMessage
}

// Hit is a Point found by Search, with its cosine similarity to the query.
type Hit struct {
	Point
	Score float64
}

// Store is a vector store for the semantic cache.
//
// Implementations are safe for concurrent use. Slices are copied on the way in and out, so
// callers may reuse theirs. A vector whose length differs from the store's dimension is an
// error wrapping a *DimensionError, in every method that takes one.
type Store interface {
	// Search returns the stored point of scope created at or after since whose cosine
	// similarity to vector is highest, provided it is at least minScore; ok is false when
	// no point qualifies. A zero since means any age. Ties are broken arbitrarily.
	// Searching a store that holds no vector yet is a miss, whatever the vector's length.
	// A scope with an empty field is an error.
	Search(ctx context.Context, scope Scope, vector []float32, since time.Time, minScore float64) (hit Hit, ok bool, err error)

	// Upsert stores p, replacing any point with the same ID. It returns once the point is
	// visible to Search (and, for Memory, written to its file).
	Upsert(ctx context.Context, p Point) error

	// DeleteBefore deletes every point created before t and returns how many it deleted.
	// Under concurrent upserts the count is a best effort (Qdrant counts, then deletes).
	DeleteBefore(ctx context.Context, t time.Time) (int, error)

	// Clear deletes every point and returns how many there were. The dimension stays.
	Clear(ctx context.Context) (int, error)

	// Count returns the number of stored points, expired or not.
	Count(ctx context.Context) (int, error)

	// Ping checks that the store answers; for Memory it fails only after Close.
	Ping(ctx context.Context) error

	// Name is "memory" or "qdrant", for logs, health reports and metric labels.
	Name() string

	// Close releases the store's resources. It is idempotent; every other call afterwards
	// returns an error wrapping ErrClosed.
	Close() error
}

var (
	_ Store = (*Memory)(nil)
	_ Store = (*Qdrant)(nil)
)

// Open returns the store that rawURL names. "" is a Memory store kept in dataDir/FileName
// (in memory only when dataDir is also ""); anything else is the address of a Qdrant
// server's gRPC port, reached as NewQdrant describes, which fails with an error wrapping
// ErrUnavailable when the server does not answer.
//
// dim is the embedding size; 0 lets the store learn it (Memory: from its file or the
// first point; Qdrant: from the existing collection, or the first point, which then
// creates the collection). Options that do not apply to the chosen backend are ignored.
func Open(rawURL, dataDir string, dim int, opts ...Option) (Store, error) {
	if dim < 0 {
		return nil, fmt.Errorf("vectorstore: open: negative dimension %d", dim)
	}
	if rawURL == "" {
		return NewMemory(dataDir, dim, opts...)
	}
	return NewQdrant(context.Background(), rawURL, dim, opts...)
}
