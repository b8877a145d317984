package ratelimit_test

import (
	"context"
	"fmt"

	"stockagent/server/ratelimit"
	"stockagent/server/store"
)

func ExampleLimiter_Allow() {
	st := store.NewMemory() // or store.Open(os.Getenv("REDIS_URL"))
	defer st.Close()

	training, err := ratelimit.ParsePolicy("training", "5/hour")
	if err != nil {
		fmt.Println(err)
		return
	}
	limiter, err := ratelimit.New(st, ratelimit.Config{Enabled: true, Policies: []ratelimit.Policy{training}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 6 {
		d, err := limiter.Allow(context.Background(), "training", "api-key-123")
		if err != nil {
			fmt.Println(err) // e.g. Redis down: fail open or answer 503
			return
		}
		if !d.Allowed {
			fmt.Printf("429, Retry-After: %d, X-RateLimit-Limit: %d, X-RateLimit-Remaining: %d\n",
				d.RetryAfterSeconds(), d.Limit, d.Remaining)
			continue
		}
		fmt.Printf("ok, %d left\n", d.Remaining)
	}
	// Output:
	// ok, 4 left
	// ok, 3 left
	// ok, 2 left
	// ok, 1 left
	// ok, 0 left
	// 429, Retry-After: 720, X-RateLimit-Limit: 5, X-RateLimit-Remaining: 0
}
