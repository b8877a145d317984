package vectorstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"stockagent/server/vectorstore"
	"stockagent/server/vectorstore/qdranttest"
)

// benchDim is the size of all-MiniLM-L6-v2's embeddings, the project's default model.
const benchDim = 384

func randomVector(r *rand.Rand) []float32 {
	v := make([]float32, benchDim)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// benchPoints returns n points spread over 50 tickers, each with a 4 KB payload (about
// the size of a cached /analyze answer).
func benchPoints(n int) []vectorstore.Point {
	r := rand.New(rand.NewPCG(1, 2))
	payload := json.RawMessage(`{"report":"` + strings.Repeat("x", 4096) + `"}`)
	ps := make([]vectorstore.Point, n)
	for i := range ps {
		ps[i] = vectorstore.Point{ID: vectorstore.NewID(), Scope: scope(fmt.Sprintf("T%02d", i%50)), Vector: randomVector(r),
			CreatedAt: time.Now().Add(-time.Duration(i) * time.Second), Payload: payload}
	}
	return ps
}

// fill stores n points (see benchPoints) in s.
func fill(b *testing.B, s vectorstore.Store, n int) {
	b.Helper()
	for _, p := range benchPoints(n) {
		if err := s.Upsert(context.Background(), p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSearch is the vector-store part of a cache look-up, with a store of n points.
// The Qdrant figures are for the in-process double (brute force over gRPC on loopback),
// not for a real Qdrant: they bound the client's overhead, not the server's speed.
func BenchmarkSearch(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprintf("memory/points=%d", n), func(b *testing.B) {
			s, err := vectorstore.Open("", "", benchDim)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			fill(b, s, n)
			benchSearch(b, s)
		})
	}
	b.Run("qdrant-double/points=1000", func(b *testing.B) {
		s, err := vectorstore.Open(qdranttest.NewServer(b).URL(), "", benchDim)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		fill(b, s, 1000)
		benchSearch(b, s)
	})
}

func benchSearch(b *testing.B, s vectorstore.Store) {
	r := rand.New(rand.NewPCG(3, 4))
	q := randomVector(r)
	since := time.Now().Add(-vectorstore.DefaultMaxAge)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := s.Search(ctx, scope("T07"), q, since, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemoryUpsertPersisted is one Upsert into a persisted store of n points: the
// whole file is rewritten and synced each time.
func BenchmarkMemoryUpsertPersisted(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("points=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			if err := vectorstore.SeedFile(dir, benchDim, benchPoints(n)); err != nil {
				b.Fatal(err)
			}
			s, err := vectorstore.Open("", dir, benchDim)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			r := rand.New(rand.NewPCG(5, 6))
			p := vectorstore.Point{ID: vectorstore.NewID(), Scope: scope("AAPL"), Vector: randomVector(r), Payload: json.RawMessage(`{}`)}
			b.ResetTimer()
			for b.Loop() {
				if err := s.Upsert(context.Background(), p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpenUnavailable is how long Open takes to report a Qdrant nobody listens for
// (a refused connection): the start-up delay of a server whose QDRANT_URL is wrong.
func BenchmarkOpenUnavailable(b *testing.B) {
	url, dir := closedPortURL(b), b.TempDir()
	for b.Loop() {
		if _, err := vectorstore.Open(url, dir, benchDim); !errors.Is(err, vectorstore.ErrUnavailable) {
			b.Fatalf("Open(closed port) = %v; want ErrUnavailable", err)
		}
	}
}
