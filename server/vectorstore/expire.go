package vectorstore

import (
	"context"
	"log/slog"
	"time"
)

// Expire is the cache's janitor: it deletes the points of s created more than maxAge ago,
// once at once and then every interval, until ctx ends. Run it in its own goroutine; it
// returns when ctx ends.
//
// Zero or negative every and maxAge mean DefaultExpireEvery and DefaultMaxAge. A failed
// sweep (Qdrant down) is logged at warning level and retried at the next tick; a sweep
// that deleted something is logged at info level. log may be nil, for no logging.
func Expire(ctx context.Context, s Store, every, maxAge time.Duration, log *slog.Logger) {
	if every <= 0 {
		every = DefaultExpireEvery
	}
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		cutoff := time.Now().Add(-maxAge)
		n, err := s.DeleteBefore(ctx, cutoff)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Warn("vectorstore: expiring old reports failed", "store", s.Name(), "err", err)
		case n > 0:
			log.Info("vectorstore: expired old reports", "store", s.Name(), "deleted", n, "before", cutoff)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
