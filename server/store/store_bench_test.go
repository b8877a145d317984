package store_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"stockagent/server/store"
	"stockagent/server/store/storetest"
)

// openBench opens b's store under a private prefix and closes it when the benchmark ends.
func openBench(tb testing.TB, b storetest.Backend) store.Store {
	tb.Helper()
	s, err := store.Open(b.URL, store.WithPrefix(storetest.KeyPrefix(tb)))
	if err != nil {
		tb.Fatalf("open %s store: %v", b.Name, err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// value is the size of a cached prediction, about 20 KB of JSON.
var value = make([]byte, 20<<10)

func BenchmarkGet(b *testing.B) {
	storetest.Run(b, func(b *testing.B, be storetest.Backend) {
		s := openBench(b, be)
		ctx := context.Background()
		if err := s.Set(ctx, "predict_child_aapl", value, 0); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Delete(ctx, "predict_child_aapl") })
		b.SetBytes(int64(len(value)))
		for b.Loop() {
			if _, err := s.Get(ctx, "predict_child_aapl"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkGetParallel(b *testing.B) {
	storetest.Run(b, func(b *testing.B, be storetest.Backend) {
		s := openBench(b, be)
		ctx := context.Background()
		if err := s.Set(ctx, "predict_child_aapl", value, 0); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Delete(ctx, "predict_child_aapl") })
		b.SetBytes(int64(len(value)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Get(ctx, "predict_child_aapl"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func BenchmarkSet(b *testing.B) {
	storetest.Run(b, func(b *testing.B, be storetest.Backend) {
		s := openBench(b, be)
		ctx := context.Background()
		const keys = 1024
		b.Cleanup(func() {
			for i := range keys {
				_ = s.Delete(ctx, "bench_"+strconv.Itoa(i))
			}
		})
		b.SetBytes(int64(len(value)))
		i := 0
		for b.Loop() {
			if err := s.Set(ctx, "bench_"+strconv.Itoa(i%keys), value, 0); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func BenchmarkRateLimit(b *testing.B) {
	storetest.Run(b, func(b *testing.B, be storetest.Backend) {
		s := openBench(b, be)
		ctx := context.Background()
		b.Cleanup(func() { _ = s.Delete(ctx, "rl") })
		for b.Loop() {
			if _, err := s.RateLimit(ctx, "rl", 1_000_000_000, 24*time.Hour); err != nil {
				b.Fatal(err)
			}
		}
	})
}
