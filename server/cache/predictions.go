// Package cache holds the prediction cache: forecasts kept in the shared
// store under docs/api.md's key (predict_child_{ticker}) for a day, and never
// answered once stale.
//
// An entry is stale the moment the model's serving version changes (the
// store's serving pointer, which every process shares: server/forecast) or a
// new market session may have brought new prices (entries are stamped with
// the NYSE session they were made in, which rolls over after the close). A failed call is never cached: only Put writes, and only
// forecasts are put.
package cache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // the NYSE session needs America/New_York on machines without a zone database

	"stockagent/server/store"
	"stockagent/server/tickers"
)

// DefaultTTL is how long an entry may live (docs/api.md: 24 h).
const DefaultTTL = 24 * time.Hour

// KeyPrefix starts every prediction key; /system/cache scans it.
const KeyPrefix = "predict_"

// Key is the store key of a model's cached forecast: predict_child_{ticker
// lower} (docs/api.md) and predict_parent for the parent.
func Key(model string) string {
	if model == tickers.Parent {
		return KeyPrefix + "parent"
	}
	return KeyPrefix + "child_" + strings.ToLower(model)
}

// Serving returns the version model serves; ok is false while the model has
// no serving pointer (a model whose versions were all made before the server
// committed one: the version an entry was made by stands until one is).
// It must be safe for concurrent use.
type Serving func(ctx context.Context, model string) (version string, ok bool, err error)

// Predictions is the prediction cache. It is safe for concurrent use.
type Predictions struct {
	st      store.Store
	serving Serving
	ttl     time.Duration
	now     func() time.Time
	obs     Observer
	notify  store.Notifier // nil: the store is this process's own
	local   *local         // nil: no first level (WithLocal, on a shared store)
	flights flights
}

// Observer receives the cache's measurements (metrics). Its methods must be
// safe for concurrent use and must not block.
type Observer interface {
	// LocalCache counts a look-up in the first level: "hit", "miss", or "down"
	// (not answering: notices may be missed).
	LocalCache(result string)
	// LocalInvalidated counts a drop: "notice" (one model's entry), "all"
	// (the cache was cleared), "lost" (every entry, on a lost or new subscription).
	LocalInvalidated(reason string)
	// LocalLive says whether the first level's subscription is up.
	LocalLive(up bool)
	// FlightJoined counts a request answered by a computation it did not run:
	// "process" (an identical request's in this process), "replica" (another
	// process's, whose entry it waited for).
	FlightJoined(scope string)
}

type noObserver struct{}

func (noObserver) LocalCache(string)       {}
func (noObserver) LocalInvalidated(string) {}
func (noObserver) LocalLive(bool)          {}
func (noObserver) FlightJoined(string)     {}

// Option configures NewPredictions.
type Option func(*Predictions)

// WithObserver reports the cache's measurements to obs.
func WithObserver(obs Observer) Option {
	return func(p *Predictions) {
		if obs != nil {
			p.obs = obs
		}
	}
}

// WithLocal keeps up to entries forecasts and bytes bytes in this process in
// front of a store that several processes share (a store.Notifier: Redis),
// answered from memory while Listen keeps them current (local.go). On a
// store of the process's own it does nothing: that store is memory already.
// Zero or negative bounds turn the first level off.
func WithLocal(entries int, bytes int64) Option {
	return func(p *Predictions) {
		if entries > 0 && bytes > 0 {
			p.local = newLocal(entries, bytes, nil)
		}
	}
}

// NewPredictions returns a cache in st whose entries are checked against
// serving. A zero ttl means DefaultTTL. On a store that several processes
// share (a store.Notifier), writes are announced to the others (Listen) and
// a miss computed by one process is waited for by the others (Compute).
func NewPredictions(st store.Store, serving Serving, ttl time.Duration, opts ...Option) *Predictions {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	p := &Predictions{st: st, serving: serving, ttl: ttl, now: time.Now, obs: noObserver{}}
	p.notify, _ = st.(store.Notifier)
	for _, o := range opts {
		o(p)
	}
	if p.notify == nil {
		p.local = nil
	}
	if p.local != nil {
		p.local.obs = p.obs
	}
	return p
}

// An entry is four header lines and the forecast as Python wrote it:
//
//	v1
//	<serving version that made it>
//	<NYSE session it was made in>
//	<cached at, RFC 3339>
//	<forecast JSON>
//
// so a hit costs a split, not a parse of the 27 kB forecast.
const entryFormat = "v1"

func encodeEntry(version, session string, at time.Time, pred []byte) []byte {
	head := entryFormat + "\n" + version + "\n" + session + "\n" + at.UTC().Format(time.RFC3339) + "\n"
	return append([]byte(head), pred...)
}

func decodeEntry(raw []byte) (version, session string, at time.Time, pred []byte, ok bool) {
	parts := bytes.SplitN(raw, []byte("\n"), 5)
	if len(parts) != 5 || string(parts[0]) != entryFormat || len(parts[4]) == 0 {
		return "", "", time.Time{}, nil, false
	}
	at, err := time.Parse(time.RFC3339, string(parts[3]))
	if err != nil {
		return "", "", time.Time{}, nil, false
	}
	return string(parts[1]), string(parts[2]), at, parts[4], true
}

// Get returns the cached forecast of model, or ok false when there is none
// or it is stale (a stale entry is deleted). The forecast may be shared with
// other callers: it must not be modified.
func (p *Predictions) Get(ctx context.Context, model string) (pred json.RawMessage, ok bool, err error) {
	key := Key(model)
	now := p.now()
	var gen uint64
	if p.local != nil {
		if pred, ok := p.local.get(key, now); ok {
			return pred, true, nil
		}
		gen = p.local.generation()
	}
	raw, err := p.st.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	version, session, at, pred, ok := decodeEntry(raw)
	if !ok {
		return nil, false, p.st.Delete(ctx, key) // unreadable: never answer with it
	}
	serving, known, err := p.serving(ctx, model)
	if err != nil {
		return nil, false, err
	}
	if (known && version != serving) || session != Session(now) {
		return nil, false, p.st.Delete(ctx, key)
	}
	if p.local != nil {
		until := at.Add(p.ttl)
		if end := sessionEnd(now); end.Before(until) {
			until = end
		}
		p.local.fill(key, gen, pred, until)
	}
	return pred, true, nil
}

// Put caches a forecast made by version of model, and tells the processes
// that share the store to drop their copies.
func (p *Predictions) Put(ctx context.Context, model string, pred json.RawMessage) error {
	var head struct {
		Version string `json:"model_version"`
	}
	if err := json.Unmarshal(pred, &head); err != nil || head.Version == "" {
		return fmt.Errorf("cache: forecast of %s has no model_version", model)
	}
	now := p.now()
	if err := p.st.Set(ctx, Key(model), encodeEntry(head.Version, Session(now), now, pred), p.ttl); err != nil {
		return err
	}
	return p.announce(ctx, notice{Model: model})
}

// Forget deletes model's cached forecast, if any, in every process sharing
// the store, so that the next request computes it: a forecast also says what
// is known of its model (its summary names the newest stored backtest), which
// can change while the version and the session stay.
func (p *Predictions) Forget(ctx context.Context, model string) error {
	if err := p.st.Delete(ctx, Key(model)); err != nil {
		return err
	}
	return p.announce(ctx, notice{Model: model})
}

// Tickers lists the models with a cached entry (SCAN, never KEYS); the
// parent is listed as "parent".
func (p *Predictions) Tickers(ctx context.Context) ([]string, error) {
	seen := map[string]bool{}
	out := []string{}
	err := p.st.Scan(ctx, KeyPrefix, func(key string) error {
		name := strings.TrimPrefix(key, KeyPrefix)
		name = strings.ToUpper(strings.TrimPrefix(name, "child_"))
		if name == "PARENT" {
			name = tickers.Parent
		}
		if !seen[name] { // SCAN may report a key twice
			seen[name] = true
			out = append(out, name)
		}
		return nil
	})
	return out, err
}

// Clear deletes every cached forecast, in every process sharing the store,
// and returns how many the store held.
func (p *Predictions) Clear(ctx context.Context) (int, error) {
	var keys []string
	if err := p.st.Scan(ctx, KeyPrefix, func(key string) error { keys = append(keys, key); return nil }); err != nil {
		return 0, err
	}
	if err := p.st.Delete(ctx, keys...); err != nil {
		return 0, err
	}
	return len(keys), p.announce(ctx, notice{All: true})
}

// newYork comes from the time zone database built into the binary (time/tzdata),
// so a minimal container without /usr/share/zoneinfo agrees with a desktop.
var newYork = func() *time.Location {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		panic(err) // unreachable: time/tzdata is linked in
	}
	return loc
}()

// Session names the NYSE session whose prices are the newest that can exist
// at t: the New York date, rolled over at 16:30 (the close plus time for the
// day's prices to be published). Weekends and holidays only make an entry
// refresh once more than needed.
func Session(t time.Time) string {
	return t.In(newYork).Add(-sessionRollover).Format(time.DateOnly)
}

// sessionRollover is how long after New York's midnight a session's date
// ends (Session).
const sessionRollover = 16*time.Hour + 30*time.Minute

// sessionEnd is the first instant after t whose Session differs from t's: the
// New York midnight after t less sessionRollover, plus sessionRollover.
func sessionEnd(t time.Time) time.Time {
	d := t.Add(-sessionRollover).In(newYork)
	return time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, newYork).Add(sessionRollover)
}
