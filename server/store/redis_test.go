package store_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"stockagent/server/servertest"
	"stockagent/server/store"
	"stockagent/server/store/storetest"
)

// closedPortURL returns a redis:// URL on a loopback port nobody listens on.
func closedPortURL(t *testing.T) string {
	t.Helper()
	return "redis://127.0.0.1:" + strconv.Itoa(servertest.Port(t)) + "/0"
}

func TestRedisUnavailable(t *testing.T) {
	url := closedPortURL(t)

	t.Run("Open", func(t *testing.T) {
		s, err := store.Open(url)
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("Open(closed port) = %v, %v; want ErrUnavailable", s, err)
		}
	})

	s, err := store.NewRedis(url) // does not connect
	must(t, "NewRedis", err)
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	calls := map[string]struct {
		call    func() error
		message string
	}{
		"Get":              {func() error { _, err := s.Get(ctx, "k"); return err }, `store: redis get "k": store: unavailable: `},
		"Set":              {func() error { return s.Set(ctx, "k", []byte("v"), time.Second) }, `store: redis set "k": `},
		"SetNX":            {func() error { _, err := s.SetNX(ctx, "k", nil, 0); return err }, `store: redis setnx "k": `},
		"CompareAndDelete": {func() error { _, err := s.CompareAndDelete(ctx, "k", nil); return err }, `store: redis compare-and-delete "k": `},
		"Incr":             {func() error { _, err := s.Incr(ctx, "k", 1, 0); return err }, `store: redis incr "k": `},
		"Scan":             {func() error { return s.Scan(ctx, "p", func(string) error { return nil }) }, `store: redis scan "p": `},
		"RateLimit":        {func() error { _, err := s.RateLimit(ctx, "k", 1, time.Second); return err }, `store: redis ratelimit "k": `},
		"Ping":             {func() error { return s.Ping(ctx) }, `store: redis ping: `},
	}
	for name, c := range calls {
		t.Run(name, func(t *testing.T) {
			err := c.call()
			if !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("%s = %v, want ErrUnavailable", name, err)
			}
			if !strings.HasPrefix(err.Error(), c.message) {
				t.Fatalf("message %q does not start with %q", err, c.message)
			}
		})
	}
}

// TestRedisRecovers takes the server away mid-run and brings it back on the same port:
// calls fail with ErrUnavailable meanwhile and succeed again without a new client.
func TestRedisRecovers(t *testing.T) {
	srv := storetest.NewServer(t)
	s, err := store.Open(srv.URL())
	must(t, "Open", err)
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	must(t, "Set before", s.Set(ctx, "k", []byte("v"), 0))
	mustGet(t, s, "k")

	srv.Stop()
	if _, err := s.Get(ctx, "k"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Get with the server down = %v, want ErrUnavailable", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Ping with the server down = %v, want ErrUnavailable", err)
	}

	srv.Start() // empty data set: no persistence
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := s.Set(ctx, "k", []byte("again"), 0)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing 10s after the server came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := mustGet(t, s, "k"); string(got) != "again" {
		t.Fatalf("Get after recovery = %q", got)
	}
	if r, err := s.RateLimit(ctx, "rl", 1, time.Minute); err != nil || !r.Allowed {
		t.Fatalf("RateLimit after recovery = %+v, %v (scripts must load again)", r, err)
	}
}

// TestRedisNoKeys runs Scan on a server where KEYS does not exist (storetest renames it
// away), proving Scan never needs it; the TestStore suites run on such servers too.
func TestRedisNoKeys(t *testing.T) {
	srv := storetest.NewServer(t)
	ctx := context.Background()
	raw := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = raw.Close() })
	if err := raw.Keys(ctx, "*").Err(); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Fatalf("KEYS on the test server = %v, want an unknown command error", err)
	}

	s, err := store.Open(srv.URL())
	must(t, "Open", err)
	t.Cleanup(func() { _ = s.Close() })
	for i := range 1200 {
		must(t, "Set", s.Set(ctx, fmt.Sprintf("cache:%d", i), []byte("v"), 0))
	}
	if got := scanAll(t, s, "cache:"); len(got) != 1200 {
		t.Fatalf("Scan found %d keys, want 1200", len(got))
	}
}

// TestRedisPrefix checks that stores with different prefixes share a server without
// seeing each other's keys, and that callers never see the prefix.
func TestRedisPrefix(t *testing.T) {
	url := storetest.StartRedis(t)
	ctx := context.Background()
	pa, pb := storetest.KeyPrefix(t), storetest.KeyPrefix(t)
	a, err := store.Open(url, store.WithPrefix(pa))
	must(t, "Open a", err)
	t.Cleanup(func() { _ = a.Delete(ctx, "k", "only-a"); _ = a.Close() })
	b, err := store.Open(url, store.WithPrefix(pb))
	must(t, "Open b", err)
	t.Cleanup(func() { _ = b.Delete(ctx, "k"); _ = b.Close() })

	must(t, "a.Set", a.Set(ctx, "k", []byte("a"), time.Minute))
	must(t, "a.Set", a.Set(ctx, "only-a", []byte("a"), time.Minute))
	must(t, "b.Set", b.Set(ctx, "k", []byte("b"), time.Minute))
	if got := mustGet(t, a, "k"); string(got) != "a" {
		t.Fatalf("a.Get = %q", got)
	}
	wantNotFound(t, b, "only-a")
	if got := scanAll(t, a, ""); fmt.Sprint(got) != "[k only-a]" {
		t.Fatalf("a.Scan = %q, want [k only-a]", got)
	}

	raw := redis.NewClient(mustParseURL(t, url))
	t.Cleanup(func() { _ = raw.Close() })
	if v, err := raw.Get(ctx, pa+"k").Result(); err != nil || v != "a" {
		t.Fatalf("raw GET %q = %q, %v", pa+"k", v, err)
	}
}

// TestRedisScriptFlush checks the EVALSHA → EVAL fallback after the server forgets scripts.
func TestRedisScriptFlush(t *testing.T) {
	url := storetest.StartRedis(t)
	ctx := context.Background()
	s, err := store.Open(url, store.WithPrefix(storetest.KeyPrefix(t)))
	must(t, "Open", err)
	t.Cleanup(func() { _ = s.Delete(ctx, "lock"); _ = s.Close() })
	must(t, "Set", s.Set(ctx, "lock", []byte("me"), time.Minute))
	ok, err := s.CompareAndExpire(ctx, "lock", []byte("me"), time.Minute)
	wantBool(t, "CompareAndExpire", ok, err, true)

	raw := redis.NewClient(mustParseURL(t, url))
	t.Cleanup(func() { _ = raw.Close() })
	must(t, "SCRIPT FLUSH", raw.ScriptFlush(ctx).Err())

	ok, err = s.CompareAndDelete(ctx, "lock", []byte("me"))
	wantBool(t, "CompareAndDelete after SCRIPT FLUSH", ok, err, true)
}

func mustParseURL(t *testing.T, url string) *redis.Options {
	t.Helper()
	o, err := redis.ParseURL(url)
	must(t, "ParseURL", err)
	return o
}

func TestOpen(t *testing.T) {
	cases := map[string]struct {
		url      string
		wantName string // "" when Open must fail
		notInErr string // a secret the error must not repeat
	}{
		"empty is memory":      {url: "", wantName: "memory"},
		"unknown scheme":       {url: "http://127.0.0.1:6379"},
		"garbage":              {url: "::not a url"},
		"bad database":         {url: "redis://127.0.0.1:6379/notanumber"},
		"password not echoed":  {url: "redis://user:s3cret@127.0.0.1:1/0", notInErr: "s3cret"},
		"password not echoed2": {url: "http://user:s3cret@host/", notInErr: "s3cret"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := store.Open(c.url)
			if c.wantName != "" {
				must(t, "Open", err)
				defer s.Close()
				if s.Name() != c.wantName {
					t.Fatalf("Name = %q, want %q", s.Name(), c.wantName)
				}
				return
			}
			if err == nil {
				_ = s.Close()
				t.Fatalf("Open(%q) succeeded", c.url)
			}
			if !strings.HasPrefix(err.Error(), "store: ") {
				t.Errorf("error %q lacks the store: prefix", err)
			}
			if c.notInErr != "" && strings.Contains(err.Error(), c.notInErr) {
				t.Errorf("error %q repeats the password", err)
			}
		})
	}
}

// A notice published on a channel reaches a subscriber, in order and with its channel,
// once it is subscribed to every channel; its pings are answered; after Redis restarts,
// the subscriber is told the connection was lost, then that it subscribed again (notices
// sent meanwhile are lost: the caller catches up), and receives the next notices.
func TestRedisPublishSubscribe(t *testing.T) {
	srv := storetest.NewServer(t)
	s, err := store.Open(srv.URL(), store.WithPrefix("p:"))
	must(t, "Open", err)
	t.Cleanup(func() { _ = s.Close() })
	n := s.(store.Notifier)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard, not a timing
	defer cancel()
	subscribed, got := make(chan struct{}, 4), make(chan string, 4)
	lost, heard := make(chan struct{}, 16), make(chan time.Time, 16)
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		done <- n.Subscribe(ctx, []string{"notices", "others"}, store.Listener{
			Subscribed: func() { subscribed <- struct{}{} },
			Lost:       func(error) { lost <- struct{}{} },
			Message:    func(ch string, m []byte) { got <- ch + " " + string(m) },
			PingEvery:  20 * time.Millisecond,
			Heard: func(sent time.Time) {
				select {
				case heard <- sent:
				default:
				}
			},
		})
	}()
	receive := func(what string, c <-chan struct{}) {
		t.Helper()
		select {
		case <-c:
		case <-ctx.Done():
			t.Fatal(what + ": never")
		}
	}
	receive("subscribed", subscribed)
	select {
	case sent := <-heard:
		if sent.Before(start) {
			t.Fatalf("a ping answered as sent at %s, before the subscription began", sent)
		}
	case <-ctx.Done():
		t.Fatal("no ping answered")
	}
	for _, m := range []string{"notices one", "others two", "notices three"} {
		ch, msg, _ := strings.Cut(m, " ")
		must(t, "Publish", n.Publish(ctx, ch, []byte(msg)))
	}
	for _, want := range []string{"notices one", "others two", "notices three"} {
		select {
		case m := <-got:
			if m != want {
				t.Fatalf("got %q, want %q", m, want)
			}
		case <-ctx.Done():
			t.Fatalf("notice %q never arrived", want)
		}
	}

	srv.Stop()
	receive("told the connection was lost", lost)
	srv.Start()
	receive("subscribed again after a Redis restart", subscribed)
	must(t, "Publish after the restart", n.Publish(ctx, "notices", []byte("four")))
	select {
	case m := <-got:
		if m != "notices four" {
			t.Fatalf("after the restart got %q, want %q", m, "notices four")
		}
	case <-ctx.Done():
		t.Fatal("the notice after the restart never arrived")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Subscribe after cancel = %v, want context.Canceled", err)
	}
}
