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
}

// NewPredictions returns a cache in st whose entries are checked against
// serving. A zero ttl means DefaultTTL.
func NewPredictions(st store.Store, serving Serving, ttl time.Duration) *Predictions {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Predictions{st: st, serving: serving, ttl: ttl, now: time.Now}
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

func decodeEntry(raw []byte) (version, session string, pred []byte, ok bool) {
	parts := bytes.SplitN(raw, []byte("\n"), 5)
	if len(parts) != 5 || string(parts[0]) != entryFormat || len(parts[4]) == 0 {
		return "", "", nil, false
	}
	return string(parts[1]), string(parts[2]), parts[4], true
}

// Get returns the cached forecast of model, or ok false when there is none
// or it is stale (a stale entry is deleted).
func (p *Predictions) Get(ctx context.Context, model string) (pred json.RawMessage, ok bool, err error) {
	raw, err := p.st.Get(ctx, Key(model))
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	version, session, pred, ok := decodeEntry(raw)
	if !ok {
		return nil, false, p.st.Delete(ctx, Key(model)) // unreadable: never answer with it
	}
	serving, known, err := p.serving(ctx, model)
	if err != nil {
		return nil, false, err
	}
	if (known && version != serving) || session != Session(p.now()) {
		return nil, false, p.st.Delete(ctx, Key(model))
	}
	return pred, true, nil
}

// Put caches a forecast made by version of model.
func (p *Predictions) Put(ctx context.Context, model string, pred json.RawMessage) error {
	var head struct {
		Version string `json:"model_version"`
	}
	if err := json.Unmarshal(pred, &head); err != nil || head.Version == "" {
		return fmt.Errorf("cache: forecast of %s has no model_version", model)
	}
	now := p.now()
	return p.st.Set(ctx, Key(model), encodeEntry(head.Version, Session(now), now, pred), p.ttl)
}

// Forget deletes model's cached forecast, if any, so that the next request
// computes it: a forecast also says what is known of its model (its summary
// names the newest stored backtest), which can change while the version and
// the session stay.
func (p *Predictions) Forget(ctx context.Context, model string) error {
	return p.st.Delete(ctx, Key(model))
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

// Clear deletes every cached forecast and returns how many there were.
func (p *Predictions) Clear(ctx context.Context) (int, error) {
	var keys []string
	if err := p.st.Scan(ctx, KeyPrefix, func(key string) error { keys = append(keys, key); return nil }); err != nil {
		return 0, err
	}
	if len(keys) == 0 {
		return 0, nil
	}
	return len(keys), p.st.Delete(ctx, keys...)
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
	return t.In(newYork).Add(-16*time.Hour - 30*time.Minute).Format(time.DateOnly)
}
