package analysis

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"stockagent/server/store"
)

// ThreadTTL is how long a conversation thread stays its owner's after its
// last turn. The record is renewed on every turn; a thread idle for longer
// can be claimed again, but never read by anyone else: its turns are kept
// under a name derived from the owner too (scopedThread).
const ThreadTTL = 30 * 24 * time.Hour

// ErrThreadNotFound is returned for a thread that another caller owns. It
// reads as "not found" (404), so that a caller learns nothing of other
// callers' threads, not even that they exist.
var ErrThreadNotFound = errors.New("analysis: no such thread")

// threadKey is the store key of a thread's owner record: a hash, so thread
// ids never appear in the store.
func threadKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return "thread_owner:" + hex.EncodeToString(sum[:16])
}

// scopedThread is the name the agent's checkpoints keep a thread under: the
// owner and the thread id together, so two callers' threads never meet even
// if an owner record was lost (an in-process store after a restart).
func scopedThread(owner, id string) string {
	sum := sha256.Sum256([]byte(owner + "\x00" + id))
	return hex.EncodeToString(sum[:16])
}

// ShortHash names a thread id or a question in logs without revealing it.
func ShortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

// claim makes owner the owner of thread id when nobody owns it, renews the
// record when owner does, and returns ErrThreadNotFound when another does.
// The record is created atomically (SetNX), so replicas sharing a store agree.
func (s *Service) claim(ctx context.Context, id, owner string) error {
	key := threadKey(id)
	for range 2 { // a record that expires between SetNX and Get: try once more
		ok, err := s.st.SetNX(ctx, key, []byte(owner), ThreadTTL)
		if err != nil {
			return fmt.Errorf("analysis: thread owner: %w", err)
		}
		if ok {
			return nil
		}
		got, err := s.st.Get(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("analysis: thread owner: %w", err)
		}
		if string(got) != owner {
			return ErrThreadNotFound
		}
		if _, err := s.st.CompareAndExpire(ctx, key, got, ThreadTTL); err != nil {
			s.log.Warn("thread owner record not renewed", "error", err)
		}
		return nil
	}
	return ErrThreadNotFound
}
