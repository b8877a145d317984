package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"stockagent/server/ratelimit"
	"stockagent/server/store/storetest"
)

// After Limit failures the next one locks the client out for the policy's
// interval, right calls included; other clients are not affected.
func TestLockout(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		l, err := ratelimit.NewLockout(openStore(t, b, storetest.KeyPrefix(t)), ratelimit.Policy{Name: "auth", Limit: 2, Window: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			if d, err := l.Fail(ctx, "a"); err != nil || !d.Allowed {
				t.Fatalf("failure %d: %+v %v", i+1, d, err)
			}
			if wait, err := l.Locked(ctx, "a"); err != nil || wait != 0 {
				t.Fatalf("locked after %d failures within the limit: %v %v", i+1, wait, err)
			}
		}
		d, err := l.Fail(ctx, "a")
		if err != nil || d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > 30*time.Second {
			t.Fatalf("third failure: %+v %v", d, err)
		}
		if wait, err := l.Locked(ctx, "a"); err != nil || wait <= 0 || wait > d.RetryAfter {
			t.Fatalf("after the refused failure: locked %v %v, want (0, %v]", wait, err, d.RetryAfter)
		}
		if wait, err := l.Locked(ctx, "b"); err != nil || wait != 0 {
			t.Fatalf("another client: locked %v %v", wait, err)
		}
	})
}
