package vectorstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"stockagent/server/vectorstore"
	"stockagent/server/vectorstore/qdranttest"
)

// dim is the vector size of the suite: small, so failures print readably.
const dim = 8

// scoreTol is how far a score may be from the cosine the test built: vectors travel as
// float32, and Qdrant scores in float32.
const scoreTol = 1e-4

// backend opens stores of one kind for the suite.
type backend struct {
	name string
	// open returns a new, empty store of dimension d (0: learnt from the first point),
	// closed (and for Qdrant, dropped) in t's cleanup.
	open func(t *testing.T, d int) vectorstore.Store
}

// eachBackend runs f once per backend, as subtests "memory" and "qdrant". The Qdrant one
// uses QDRANT_URL_TEST or an in-process double that lives until f and its subtests end.
func eachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	t.Helper()
	t.Run("memory", func(t *testing.T) {
		f(t, backend{name: "memory", open: func(t *testing.T, d int) vectorstore.Store {
			t.Helper()
			s, err := vectorstore.Open("", t.TempDir(), d)
			if err != nil {
				t.Fatalf("open memory store: %v", err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		}})
	})
	t.Run(qdranttest.Name(), func(t *testing.T) {
		url := qdranttest.Start(t)
		f(t, backend{name: "qdrant", open: func(t *testing.T, d int) vectorstore.Store {
			t.Helper()
			return openQdrant(t, url, qdranttest.Collection(t), d)
		}})
	})
}

// openQdrant opens collection on the Qdrant at url; t's cleanup closes the store and drops
// the collection (through a store of its own, so it works after the test closed this one).
func openQdrant(t *testing.T, url, collection string, d int, opts ...vectorstore.Option) *vectorstore.Qdrant {
	t.Helper()
	opts = append([]vectorstore.Option{vectorstore.WithCollection(collection), vectorstore.WithAPIKey(qdranttest.APIKey())}, opts...)
	s, err := vectorstore.NewQdrant(context.Background(), url, d, opts...)
	if err != nil {
		t.Fatalf("open qdrant store %s at %s: %v", collection, url, err)
	}
	t.Cleanup(func() {
		_ = s.Close()
		dropCollection(t, url, collection)
	})
	return s
}

// dropCollection deletes collection on the server at url, ignoring failures (it may never
// have been created, or the test stopped the server).
func dropCollection(t *testing.T, url, collection string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := vectorstore.NewQdrant(ctx, url, 0, vectorstore.WithCollection(collection), vectorstore.WithAPIKey(qdranttest.APIKey()))
	if err != nil {
		return
	}
	_ = s.Drop(ctx)
	_ = s.Close()
}

// TestStore runs every suite below against both backends.
func TestStore(t *testing.T) {
	suites := map[string]func(t *testing.T, b backend){
		"Threshold":       testThreshold,
		"TickerFilter":    testTickerFilter,
		"ScopeFilter":     testScopeFilter,
		"AgeFilter":       testAgeFilter,
		"BestOfSeveral":   testBestOfSeveral,
		"RoundTrip":       testRoundTrip,
		"Replace":         testReplace,
		"DeleteBefore":    testDeleteBefore,
		"ClearCount":      testClearCount,
		"Dimension":       testDimension,
		"DimensionLearnt": testDimensionLearnt,
		"Invalid":         testInvalid,
		"Closed":          testClosed,
		"Concurrent":      testConcurrent,
	}
	eachBackend(t, func(t *testing.T, b backend) {
		for name, suite := range suites {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				suite(t, b)
			})
		}
	})
}

// at returns a vector of length dim whose cosine similarity with axis 0 is cos; its
// remaining length lies along axis side (1..dim-1), so vectors with different sides
// differ from each other even at the same cosine.
func at(cos float64, side int) []float32 {
	v := make([]float32, dim)
	v[0] = float32(cos)
	v[side] = float32(math.Sqrt(1 - cos*cos))
	return v
}

// axis0 returns the query vector of most tests (a fresh slice: tests may modify it).
func axis0() []float32 { return at(1, 1) }

// scope returns the scope of ticker that every test point and search uses unless it tests
// scopes.
func scope(ticker string) vectorstore.Scope {
	return vectorstore.Scope{Ticker: ticker, ModelVersion: "20250102T030405Z", DataAsOf: "2025-01-02"}
}

// point returns a point of ticker with vector v, created at created, whose payload names it.
func point(ticker string, v []float32, created time.Time, name string) vectorstore.Point {
	return vectorstore.Point{
		ID:        vectorstore.NewID(),
		Scope:     scope(ticker),
		Vector:    v,
		CreatedAt: created,
		Payload:   json.RawMessage(fmt.Sprintf(`{"name":%q}`, name)),
	}
}

func mustUpsert(t *testing.T, s vectorstore.Store, ps ...vectorstore.Point) {
	t.Helper()
	for _, p := range ps {
		if err := s.Upsert(context.Background(), p); err != nil {
			t.Fatalf("Upsert(%s %s): %v", p.Ticker, p.Payload, err)
		}
	}
}

func mustSearch(t *testing.T, s vectorstore.Store, ticker string, v []float32, since time.Time, minScore float64) (vectorstore.Hit, bool) {
	t.Helper()
	h, ok, err := s.Search(context.Background(), scope(ticker), v, since, minScore)
	if err != nil {
		t.Fatalf("Search(%s, since %v, min %v): %v", ticker, since, minScore, err)
	}
	return h, ok
}

func mustCount(t *testing.T, s vectorstore.Store, want int) {
	t.Helper()
	n, err := s.Count(context.Background())
	if err != nil {
		t.Fatalf("Count: %v", err)
	}
	if n != want {
		t.Fatalf("Count = %d, want %d", n, want)
	}
}

// payloadName returns the name a point's payload carries ("" for none).
func payloadName(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var p struct{ Name string }
	if len(raw) == 0 {
		return ""
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatalf("payload %s: %v", raw, err)
	}
	return p.Name
}

// wantHit fails t unless the search found the point named name with score near score.
func wantHit(t *testing.T, h vectorstore.Hit, ok bool, name string, score float64) {
	t.Helper()
	if !ok {
		t.Fatalf("search missed; want %q (score %.4f)", name, score)
	}
	if got := payloadName(t, h.Payload); got != name {
		t.Fatalf("search found %q (score %.4f); want %q (score %.4f)", got, h.Score, name, score)
	}
	if math.Abs(h.Score-score) > scoreTol {
		t.Fatalf("search found %q with score %.6f; want %.6f", name, h.Score, score)
	}
}

func wantMiss(t *testing.T, h vectorstore.Hit, ok bool) {
	t.Helper()
	if ok {
		t.Fatalf("search found %q (score %.4f); want a miss", payloadName(t, h.Payload), h.Score)
	}
}

func testThreshold(t *testing.T, b backend) {
	s := b.open(t, dim)
	now := time.Now()
	mustUpsert(t, s, point("AAPL", axis0(), now, "report"))
	cases := map[string]struct {
		cos, min float64
		hit      bool
	}{
		"0.96 over 0.95 hits":    {0.96, 0.95, true},
		"0.90 under 0.95 misses": {0.90, 0.95, false},
		"0.90 over 0.85 hits":    {0.90, 0.85, true},
		"identical hits":         {1, 0.95, true},
		"opposite misses":        {-1, 0.95, false},
		"orthogonal over -0.5":   {0, -0.5, true},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			h, ok := mustSearch(t, s, "AAPL", at(c.cos, 3), now.Add(-time.Hour), c.min)
			if c.hit {
				wantHit(t, h, ok, "report", c.cos)
			} else {
				wantMiss(t, h, ok)
			}
		})
	}
}

func testTickerFilter(t *testing.T, b backend) {
	s := b.open(t, dim)
	now := time.Now()
	mustUpsert(t, s,
		point("AAPL", axis0(), now, "aapl"),
		point("MSFT", at(0.5, 2), now, "msft"),
	)
	since := now.Add(-time.Hour)
	t.Run("other ticker's identical vector never hits", func(t *testing.T) {
		h, ok := mustSearch(t, s, "MSFT", axis0(), since, 0.95)
		wantMiss(t, h, ok)
	})
	t.Run("unknown ticker", func(t *testing.T) {
		h, ok := mustSearch(t, s, "GOOG", axis0(), since, -1)
		wantMiss(t, h, ok)
	})
	t.Run("exact match only", func(t *testing.T) {
		h, ok := mustSearch(t, s, "aapl", axis0(), since, 0.95)
		wantMiss(t, h, ok)
	})
	t.Run("own ticker", func(t *testing.T) {
		h, ok := mustSearch(t, s, "MSFT", axis0(), since, 0.4)
		wantHit(t, h, ok, "msft", 0.5)
		h, ok = mustSearch(t, s, "AAPL", axis0(), since, 0.95)
		wantHit(t, h, ok, "aapl", 1)
	})
}

// A report answers only the scope it was written from: the same ticker's report of another
// model version or of prices to another day never hits, even with an identical vector.
func testScopeFilter(t *testing.T, b backend) {
	s := b.open(t, dim)
	now := time.Now()
	mustUpsert(t, s, point("AAPL", axis0(), now, "aapl"))
	since := now.Add(-time.Hour)
	search := func(sc vectorstore.Scope) (vectorstore.Hit, bool) {
		t.Helper()
		h, ok, err := s.Search(context.Background(), sc, axis0(), since, -1)
		if err != nil {
			t.Fatalf("Search(%+v): %v", sc, err)
		}
		return h, ok
	}
	newVersion, newClose := scope("AAPL"), scope("AAPL")
	newVersion.ModelVersion = "20250103T000000Z"
	newClose.DataAsOf = "2025-01-03"
	t.Run("another model version", func(t *testing.T) { h, ok := search(newVersion); wantMiss(t, h, ok) })
	t.Run("prices to another day", func(t *testing.T) { h, ok := search(newClose); wantMiss(t, h, ok) })
	t.Run("its own scope", func(t *testing.T) {
		h, ok := search(scope("AAPL"))
		wantHit(t, h, ok, "aapl", 1)
		if h.Scope != scope("AAPL") {
			t.Errorf("hit's scope = %+v, want %+v", h.Scope, scope("AAPL"))
		}
	})
	for name, sc := range map[string]vectorstore.Scope{
		"no ticker":        {ModelVersion: "v", DataAsOf: "d"},
		"no model version": {Ticker: "AAPL", DataAsOf: "d"},
		"no data date":     {Ticker: "AAPL", ModelVersion: "v"},
	} {
		t.Run("search with "+name, func(t *testing.T) {
			if _, _, err := s.Search(context.Background(), sc, axis0(), since, -1); err == nil {
				t.Error("searched an incomplete scope; want an error")
			}
		})
	}
}

func testAgeFilter(t *testing.T, b backend) {
	s := b.open(t, dim)
	now := time.Now()
	old := point("AAPL", axis0(), now.Add(-2*time.Hour), "old")
	mustUpsert(t, s, old, point("AAPL", at(0.97, 2), now.Add(-10*time.Minute), "fresh"))
	cases := map[string]struct {
		since time.Time
		want  string
		score float64
	}{
		"older than since never hits, however similar": {now.Add(-time.Hour), "fresh", 0.97},
		"both young enough: the closer wins":           {now.Add(-3 * time.Hour), "old", 1},
		"since is inclusive":                           {old.CreatedAt, "old", 1},
		"one millisecond later":                        {old.CreatedAt.Add(time.Millisecond), "fresh", 0.97},
		"zero since is any age":                        {time.Time{}, "old", 1},
		"nothing young enough":                         {now.Add(time.Minute), "", 0},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			h, ok := mustSearch(t, s, "AAPL", axis0(), c.since, 0.95)
			if c.want == "" {
				wantMiss(t, h, ok)
				return
			}
			wantHit(t, h, ok, c.want, c.score)
		})
	}
}

func testBestOfSeveral(t *testing.T, b backend) {
	s := b.open(t, dim)
	now := time.Now()
	mustUpsert(t, s,
		point("AAPL", at(0.96, 1), now.Add(-3*time.Minute), "0.96"),
		point("AAPL", at(0.99, 2), now.Add(-2*time.Minute), "0.99"),
		point("AAPL", at(0.97, 3), now.Add(-1*time.Minute), "0.97"),
		point("AAPL", at(0.50, 4), now, "0.50"),
		point("MSFT", axis0(), now, "msft 1.00"),
	)
	h, ok := mustSearch(t, s, "AAPL", axis0(), now.Add(-time.Hour), 0.95)
	wantHit(t, h, ok, "0.99", 0.99)
}

func testRoundTrip(t *testing.T, b backend) {
	s := b.open(t, dim)
	created := time.Date(2025, 3, 4, 5, 6, 7, 891_234_567, time.FixedZone("X", 3600))
	in := vectorstore.Point{
		ID:        strings.ToUpper(vectorstore.NewID()),
		Scope:     scope("BRK-B"),
		Vector:    []float32{3, 4, 0, 0, 0, 0, 0, 0},
		CreatedAt: created,
		Payload:   json.RawMessage(`{"report":"# Title\n\"quoted\" ünïcode","confidence":"High","n":[1,2.5]}`),
	}
	mustUpsert(t, s, in)
	h, ok := mustSearch(t, s, "BRK-B", []float32{6, 8, 0, 0, 0, 0, 0, 0}, time.Time{}, 0.95)
	if !ok {
		t.Fatal("search missed the point just stored")
	}
	if h.ID != strings.ToLower(in.ID) {
		t.Errorf("ID = %q, want %q (lower case)", h.ID, strings.ToLower(in.ID))
	}
	if h.Ticker != in.Ticker {
		t.Errorf("Ticker = %q, want %q", h.Ticker, in.Ticker)
	}
	if want := created.Truncate(time.Millisecond); !h.CreatedAt.Equal(want) {
		t.Errorf("CreatedAt = %v, want %v (to the millisecond)", h.CreatedAt, want)
	}
	if string(h.Payload) != string(in.Payload) {
		t.Errorf("Payload = %s, want %s", h.Payload, in.Payload)
	}
	want := []float32{0.6, 0.8, 0, 0, 0, 0, 0, 0}
	if len(h.Vector) != len(want) {
		t.Fatalf("Vector = %v, want %v", h.Vector, want)
	}
	for i := range want {
		if math.Abs(float64(h.Vector[i]-want[i])) > 1e-6 {
			t.Fatalf("Vector = %v, want %v (normalised)", h.Vector, want)
		}
	}
	if math.Abs(h.Score-1) > scoreTol {
		t.Errorf("Score = %v, want 1", h.Score)
	}

	t.Run("no payload", func(t *testing.T) {
		p := point("NOPAY", axis0(), time.Now(), "")
		p.Payload = nil
		mustUpsert(t, s, p)
		h, ok := mustSearch(t, s, "NOPAY", axis0(), time.Time{}, 0.95)
		if !ok || len(h.Payload) != 0 {
			t.Fatalf("Search = %+v, %v; want a hit with no payload", h, ok)
		}
	})
	t.Run("zero CreatedAt means now", func(t *testing.T) {
		before := time.Now().Add(-time.Millisecond)
		mustUpsert(t, s, point("NOW", axis0(), time.Time{}, "now"))
		h, ok := mustSearch(t, s, "NOW", axis0(), before, 0.95)
		wantHit(t, h, ok, "now", 1)
		if after := time.Now(); h.CreatedAt.Before(before) || h.CreatedAt.After(after) {
			t.Errorf("CreatedAt = %v; want the time of the Upsert, between %v and %v", h.CreatedAt, before, after)
		}
	})
	t.Run("caller's slices are copied", func(t *testing.T) {
		p := point("COPY", axis0(), time.Now(), "copy")
		mustUpsert(t, s, p)
		p.Vector[0], p.Vector[1] = 0, 1
		p.Payload[2] = 'X'
		h, ok := mustSearch(t, s, "COPY", axis0(), time.Time{}, 0.95)
		wantHit(t, h, ok, "copy", 1)
	})
}

func testReplace(t *testing.T, b backend) {
	s := b.open(t, dim)
	now := time.Now()
	first := point("AAPL", axis0(), now, "first")
	second := point("MSFT", axis0(), now, "second")
	second.ID = first.ID
	mustUpsert(t, s, first, second)
	mustCount(t, s, 1)
	h, ok := mustSearch(t, s, "AAPL", axis0(), time.Time{}, 0.95)
	wantMiss(t, h, ok)
	h, ok = mustSearch(t, s, "MSFT", axis0(), time.Time{}, 0.95)
	wantHit(t, h, ok, "second", 1)
}

func testDeleteBefore(t *testing.T, b backend) {
	s := b.open(t, dim)
	ctx := context.Background()
	now := time.Now()
	mustUpsert(t, s,
		point("AAPL", axis0(), now.Add(-3*time.Hour), "3h"),
		point("MSFT", axis0(), now.Add(-2*time.Hour), "2h"),
		point("AAPL", at(0.99, 2), now.Add(-30*time.Minute), "30m"),
	)
	n, err := s.DeleteBefore(ctx, now.Add(-time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("DeleteBefore(1h ago) = %d, %v; want 2", n, err)
	}
	mustCount(t, s, 1)
	h, ok := mustSearch(t, s, "AAPL", axis0(), time.Time{}, 0.95)
	wantHit(t, h, ok, "30m", 0.99)
	h, ok = mustSearch(t, s, "MSFT", axis0(), time.Time{}, 0.95)
	wantMiss(t, h, ok)
	if n, err := s.DeleteBefore(ctx, now.Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("DeleteBefore again = %d, %v; want 0", n, err)
	}
}

func testClearCount(t *testing.T, b backend) {
	s := b.open(t, dim)
	ctx := context.Background()
	mustCount(t, s, 0)
	if n, err := s.Clear(ctx); err != nil || n != 0 {
		t.Fatalf("Clear(empty) = %d, %v; want 0", n, err)
	}
	now := time.Now()
	mustUpsert(t, s, point("A", axis0(), now, "a"), point("B", axis0(), now, "b"), point("C", axis0(), now, "c"))
	mustCount(t, s, 3)
	if n, err := s.Clear(ctx); err != nil || n != 3 {
		t.Fatalf("Clear = %d, %v; want 3", n, err)
	}
	mustCount(t, s, 0)
	h, ok := mustSearch(t, s, "A", axis0(), time.Time{}, -1)
	wantMiss(t, h, ok)
	// The dimension outlives Clear.
	var de *vectorstore.DimensionError
	if err := s.Upsert(ctx, point("A", make4(), now, "4d")); !errors.As(err, &de) {
		t.Fatalf("Upsert(4-d) after Clear = %v; want a DimensionError", err)
	}
	mustUpsert(t, s, point("A", axis0(), now, "again"))
	mustCount(t, s, 1)
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if s.Name() != b.name {
		t.Fatalf("Name() = %q, want %q", s.Name(), b.name)
	}
}

func make4() []float32 { return []float32{1, 2, 3, 4} }

func testDimension(t *testing.T, b backend) {
	s := b.open(t, dim)
	ctx := context.Background()
	mustUpsert(t, s, point("AAPL", axis0(), time.Now(), "ok"))
	calls := map[string]struct {
		got  int
		call func(v []float32) error
	}{
		"Upsert": {4, func(v []float32) error { return s.Upsert(ctx, point("AAPL", v, time.Now(), "bad")) }},
		"Search": {12, func(v []float32) error { _, _, err := s.Search(ctx, scope("AAPL"), v, time.Time{}, 0.5); return err }},
	}
	for name, c := range calls {
		t.Run(name, func(t *testing.T) {
			v := make([]float32, c.got)
			v[0] = 1
			err := c.call(v)
			var de *vectorstore.DimensionError
			if !errors.As(err, &de) || de.Want != dim || de.Got != c.got {
				t.Fatalf("%s(%d-d vector) = %v; want a DimensionError{Want: %d, Got: %d}", name, c.got, err, dim, c.got)
			}
			for _, n := range []string{fmt.Sprint(dim), fmt.Sprint(c.got)} {
				if !strings.Contains(err.Error(), n) {
					t.Errorf("error %q does not name size %s", err, n)
				}
			}
		})
	}
	mustCount(t, s, 1)
}

func testDimensionLearnt(t *testing.T, b backend) {
	s := b.open(t, 0)
	ctx := context.Background()
	// Before any point there is nothing to compare with: a miss, whatever the size.
	h, ok := mustSearch(t, s, "AAPL", make4(), time.Time{}, -1)
	wantMiss(t, h, ok)
	mustCount(t, s, 0)
	if n, err := s.DeleteBefore(ctx, time.Now()); err != nil || n != 0 {
		t.Fatalf("DeleteBefore(empty) = %d, %v", n, err)
	}
	mustUpsert(t, s, point("AAPL", make4(), time.Now(), "first"))
	var de *vectorstore.DimensionError
	if err := s.Upsert(ctx, point("AAPL", axis0(), time.Now(), "second")); !errors.As(err, &de) || de.Want != 4 || de.Got != dim {
		t.Fatalf("Upsert(%d-d) after a 4-d point = %v; want a DimensionError{4, %d}", dim, err, dim)
	}
	h, ok = mustSearch(t, s, "AAPL", make4(), time.Time{}, 0.95)
	wantHit(t, h, ok, "first", 1)
}

func testInvalid(t *testing.T, b backend) {
	s := b.open(t, dim)
	ctx := context.Background()
	now := time.Now()
	cases := map[string]func(p *vectorstore.Point){
		"empty ID":         func(p *vectorstore.Point) { p.ID = "" },
		"ID not a UUID":    func(p *vectorstore.Point) { p.ID = "report-1" },
		"ID with bad hex":  func(p *vectorstore.Point) { p.ID = "zzzzzzzz-0000-4000-8000-000000000000" },
		"empty ticker":     func(p *vectorstore.Point) { p.Ticker = "" },
		"no model version": func(p *vectorstore.Point) { p.ModelVersion = "" },
		"no data date":     func(p *vectorstore.Point) { p.DataAsOf = "" },
		"no vector":        func(p *vectorstore.Point) { p.Vector = nil },
		"zero vector":      func(p *vectorstore.Point) { p.Vector = make([]float32, dim) },
		"NaN in vector":    func(p *vectorstore.Point) { p.Vector[2] = float32(math.NaN()) },
		"Inf in vector":    func(p *vectorstore.Point) { p.Vector[2] = float32(math.Inf(1)) },
		"payload not JSON": func(p *vectorstore.Point) { p.Payload = json.RawMessage(`{"a":`) },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			p := point("AAPL", at(0.9, 1), now, name)
			mutate(&p)
			err := s.Upsert(ctx, p)
			if err == nil {
				t.Fatal("Upsert succeeded; want an error")
			}
			if !strings.HasPrefix(err.Error(), "vectorstore: "+b.name+" upsert") {
				t.Errorf("error %q lacks the prefix %q", err, "vectorstore: "+b.name+" upsert")
			}
		})
	}
	mustCount(t, s, 0)
	if _, _, err := s.Search(ctx, scope("AAPL"), make([]float32, dim), time.Time{}, 0.5); err == nil {
		t.Error("Search(zero vector) succeeded; want an error")
	}
}

// everyCall calls each method of s that reaches the back-end, by name.
func everyCall(ctx context.Context, s vectorstore.Store) map[string]func() error {
	return map[string]func() error{
		"Search": func() error { _, _, err := s.Search(ctx, scope("AAPL"), axis0(), time.Time{}, 0.5); return err },
		"Upsert": func() error { return s.Upsert(ctx, point("AAPL", axis0(), time.Now(), "call")) },
		"DeleteBefore": func() error {
			_, err := s.DeleteBefore(ctx, time.Now())
			return err
		},
		"Clear": func() error { _, err := s.Clear(ctx); return err },
		"Count": func() error { _, err := s.Count(ctx); return err },
		"Ping":  func() error { return s.Ping(ctx) },
	}
}

func testClosed(t *testing.T, b backend) {
	s := b.open(t, dim)
	ctx := context.Background()
	mustUpsert(t, s, point("AAPL", axis0(), time.Now(), "p"))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	for name, call := range everyCall(ctx, s) {
		if err := call(); !errors.Is(err, vectorstore.ErrClosed) {
			t.Errorf("%s after Close = %v; want ErrClosed", name, err)
		}
	}
}

func testConcurrent(t *testing.T, b backend) {
	s := b.open(t, dim)
	ctx := context.Background()
	const workers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*2)
	for w := range workers {
		wg.Go(func() {
			ticker := fmt.Sprintf("T%d", w)
			for i := range each {
				p := point(ticker, at(0.9+float64(i)/200, 1+i%(dim-1)), time.Now(), fmt.Sprint(i))
				if err := s.Upsert(ctx, p); err != nil {
					errs <- err
				}
				if _, ok, err := s.Search(ctx, scope(ticker), axis0(), time.Time{}, 0.5); err != nil || !ok {
					errs <- fmt.Errorf("search %s after %d upserts: ok %v, %v", ticker, i+1, ok, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	mustCount(t, s, workers*each)
}
