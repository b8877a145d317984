package store_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"stockagent/server/store/storetest"
)

// value is the size of a cached prediction, about 20 KB of JSON.
var value = make([]byte, 20<<10)

func BenchmarkGet(b *testing.B) {
	storetest.Run(b, func(b *testing.B, be storetest.Backend) {
		s := be.Open(b)
		ctx := context.Background()
		if err := s.Set(ctx, "predict_child_aapl", value, 0); err != nil {
			b.Fatal(err)
		}
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
		s := be.Open(b)
		ctx := context.Background()
		if err := s.Set(ctx, "predict_child_aapl", value, 0); err != nil {
			b.Fatal(err)
		}
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
