package forecast

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"stockagent/server/store"
)

// servingChannel carries a notice on every move of a serving pointer, to every
// process that shares the store (store.Notifier).
const servingChannel = "serving"

// servingNotice is the message on servingChannel.
type servingNotice struct {
	Model   string `json:"model"`
	Version string `json:"version"`
}

// ServingState is what this process serves of one model: the version loaded in
// its Python side, and the last version it refused, with why.
type ServingState struct {
	Model   string `json:"model"`
	Version string `json:"version,omitempty"`
	Refused string `json:"refused,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// follower is the part of Service that keeps this process on the shared
// serving pointers (Follow).
type follower struct {
	notify store.Notifier          // nil: no notices (the store is this process's own)
	load   sync.Mutex              // one load at a time: notices and catch-ups in order
	mu     sync.Mutex              // guards states
	states map[string]ServingState // model -> state
}

// Follow makes this process serve what the serving pointers in st name, when
// st is shared by several processes (n, its notices): every commit of a
// pointer is announced on n, and on each notice this process's Python side
// loads the version and switches to it only once it loaded (a version that
// cannot be loaded is refused and reported by Serving; the previous one keeps
// serving). Notices missed while disconnected are caught up by reading every
// pointer on each (re)subscription and every interval. The prediction cache
// listens to the same notices (cache.Predictions.Listen). Follow returns at once;
// the work runs until ctx ends. Call it once, before the process takes traffic.
func (s *Service) Follow(ctx context.Context, st store.Store, n store.Notifier, interval time.Duration) {
	s.follow.notify = n
	s.follow.states = map[string]ServingState{}
	catchUp := func() {
		if err := s.catchUp(ctx, st); err != nil && ctx.Err() == nil {
			s.log.Warn("serving pointers not read", "error", err)
		}
	}
	go func() {
		err := n.Subscribe(ctx, []string{servingChannel}, store.Listener{Subscribed: catchUp, Message: func(_ string, msg []byte) {
			var ntc servingNotice
			if err := json.Unmarshal(msg, &ntc); err != nil || ntc.Model == "" || ntc.Version == "" {
				s.log.Warn("serving notice unreadable", "notice", fmt.Sprintf("%.200s", msg))
				return
			}
			s.adopt(ctx, ntc.Model, ntc.Version, true)
		}})
		if ctx.Err() == nil {
			s.log.Warn("serving notices stopped", "error", err)
		}
	}()
	go func() {
		// The prediction cache's first level drops a model's copy on each of these notices.
		if err := s.cache.Listen(ctx, servingChannel); err != nil && ctx.Err() == nil {
			s.log.Warn("prediction cache notices stopped; its first level answers nothing", "error", err)
		}
	}()
	go func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				catchUp()
			}
		}
	}()
}

// catchUp adopts every serving pointer in st whose version this process does not
// serve yet; a version refused before is not tried again until a notice names it.
func (s *Service) catchUp(ctx context.Context, st store.Store) error {
	return st.Scan(ctx, servingPrefix, func(key string) error {
		model := strings.TrimPrefix(key, servingPrefix)
		version, ok, err := ServingVersions(st)(ctx, model)
		if err != nil || !ok {
			return err
		}
		s.adopt(ctx, model, version, false)
		return nil
	})
}

// adopt makes this process's Python side serve version of model. retry tries a
// version refused before again (a notice: its files may have been fixed).
func (s *Service) adopt(ctx context.Context, model, version string, retry bool) {
	s.follow.load.Lock()
	defer s.follow.load.Unlock()
	s.follow.mu.Lock()
	cur := s.follow.states[model]
	s.follow.mu.Unlock()
	if cur.Version == version || (cur.Refused == version && !retry) {
		return
	}
	// A pointer that moved unannounced (a notice lost on the way) reaches the
	// prediction cache's first level here, at the latest on the next catch-up.
	s.cache.Drop(model)
	out, err := s.client.LoadServing(ctx, model, version)
	cur.Model = model
	switch {
	case err != nil:
		// The call failed before Python answered: what it served before still
		// serves, so the recorded version stays.
		cur.Refused, cur.Reason = version, "load_serving call failed; still serving the previous version: "+err.Error()
	case out.Error != "":
		cur.Refused, cur.Reason, cur.Version = version, out.Error, out.Serving
	default:
		cur.Refused, cur.Reason, cur.Version = "", "", out.Serving
	}
	s.follow.mu.Lock()
	s.follow.states[model] = cur
	s.follow.mu.Unlock()
	if cur.Refused != "" {
		s.log.Warn("serving version refused: it cannot be loaded", "model", model, "version", version,
			"serving", cur.Version, "reason", cur.Reason)
		return
	}
	s.log.Info("serving version loaded", "model", model, "version", version)
}

// Serving reports, per model, what this process serves and what it refused,
// sorted by model; nil when it does not follow shared pointers (Follow).
func (s *Service) Serving() []ServingState {
	s.follow.mu.Lock()
	defer s.follow.mu.Unlock()
	if s.follow.states == nil {
		return nil
	}
	out := make([]ServingState, 0, len(s.follow.states))
	for _, st := range s.follow.states {
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b ServingState) int { return strings.Compare(a.Model, b.Model) })
	return out
}

// announce tells every process that model's serving pointer moved to version.
// A lost notice is caught up by the other processes' periodic reads.
func (s *Service) announce(ctx context.Context, model, version string) {
	if s.follow.notify == nil {
		return
	}
	msg, err := json.Marshal(servingNotice{Model: model, Version: version})
	if err == nil {
		err = s.follow.notify.Publish(ctx, servingChannel, msg)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		s.log.Warn("serving notice not sent; other processes catch up on their next check", "model", model, "version", version, "error", err)
	}
}
