package store_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"stockagent/server/store"
	"stockagent/server/store/storetest"
)

// value is the size of a cached prediction, about 20 KB of JSON.
var value = make([]byte, 20<<10)

// holdingValue opens be's store with value at "predict_child_aapl", and sets b's
// bytes per operation to value's size.
func holdingValue(b *testing.B, be storetest.Backend) store.Store {
	b.Helper()
	s := be.Open(b)
	if err := s.Set(context.Background(), "predict_child_aapl", value, 0); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(value)))
	return s
}

func BenchmarkGet(b *testing.B) {
	storetest.Run(b, func(b *testing.B, be storetest.Backend) {
		s := holdingValue(b, be)
		ctx := context.Background()
		for b.Loop() {
			if _, err := s.Get(ctx, "predict_child_aapl"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkGetParallel(b *testing.B) {
	storetest.Run(b, func(b *testing.B, be storetest.Backend) {
		s := holdingValue(b, be)
		ctx := context.Background()
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
		s := be.Open(b)
		ctx := context.Background()
		const keys = 1024
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
		s := be.Open(b)
		ctx := context.Background()
		for b.Loop() {
			if _, err := s.RateLimit(ctx, "rl", 1_000_000_000, 24*time.Hour); err != nil {
				b.Fatal(err)
			}
		}
	})
}
