package cache

import (
	"context"
	"encoding/json"
	"fmt"

	"stockagent/server/store"
)

// InvalidationChannel carries a notice on every write of an entry (Put,
// Forget, Clear) to the processes that share the store, whose first levels
// then drop their copies.
const InvalidationChannel = "predictions"

// notice is the message on InvalidationChannel. Any notice with a model
// (the serving notices Listen is given carry one too) drops that model's copy.
type notice struct {
	Model string `json:"model,omitempty"`
	All   bool   `json:"all,omitempty"`
}

// announce drops this process's copy at once, then tells the others.
func (p *Predictions) announce(ctx context.Context, n notice) error {
	if p.local != nil {
		if n.All {
			p.local.reset("all")
		} else {
			p.local.invalidate(Key(n.Model))
		}
	}
	if p.notify == nil {
		return nil
	}
	msg, err := json.Marshal(n)
	if err == nil {
		err = p.notify.Publish(ctx, InvalidationChannel, msg)
	}
	if err != nil {
		return fmt.Errorf("cache: other processes not told to drop their copy: %w", err)
	}
	return nil
}

// Drop drops this process's first-level copy of model: its serving pointer
// was found moved without a notice (forecast.Service's catch-up).
func (p *Predictions) Drop(model string) {
	if p.local != nil {
		p.local.invalidate(Key(model))
	}
}

// Listen keeps the first level current until ctx ends: it subscribes to
// InvalidationChannel and to channels (the serving notices, whose moves make
// a model's entries stale), drops a model's copy on each notice naming it,
// and answers from the first level only while subscribed and while its pings
// come back within localLag (local.go); every (re)subscription starts it
// empty. It returns at once without a first level, and otherwise the
// subscription's error (ctx's when it ends).
func (p *Predictions) Listen(ctx context.Context, channels ...string) error {
	if p.local == nil {
		return nil
	}
	defer p.local.lost()
	return p.notify.Subscribe(ctx, append([]string{InvalidationChannel}, channels...), store.Listener{
		Subscribed: p.local.subscribed,
		Lost:       func(error) { p.local.lost() },
		Message: func(_ string, msg []byte) {
			var n notice
			switch err := json.Unmarshal(msg, &n); {
			case err != nil:
				p.local.reset("lost") // an unreadable notice may have named anything
			case n.All:
				p.local.reset("all")
			case n.Model != "":
				p.local.invalidate(Key(n.Model))
			}
		},
		PingEvery: localPing,
		Heard:     p.local.pong,
	})
}
