package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"stockagent/server/store"
)

func openBolt(t *testing.T, path string, opts ...store.Option) *store.Bolt {
	t.Helper()
	b, err := store.OpenBolt(path, opts...)
	if err != nil {
		t.Fatalf("OpenBolt: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// TestBoltSurvivesReopen: what a call returned is in the file after the store closes, with
// its expiry; two stores of one file in one process share it under their own prefixes.
func TestBoltSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state", "store.db")
	a := openBolt(t, path, store.WithPrefix("a:"))
	other := openBolt(t, path, store.WithPrefix("b:"))
	must(t, "Set", a.Set(ctx, "record", []byte("running"), 0))
	must(t, "Set with ttl", a.Set(ctx, "lease", []byte("me"), time.Hour))
	must(t, "Set short", a.Set(ctx, "short", []byte("x"), 50*time.Millisecond))
	if _, err := a.Incr(ctx, "fence", 7, 0); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, other, "record")
	must(t, "Close", a.Close())
	must(t, "other store of the file after the first closed", other.Set(ctx, "k", []byte("v"), 0))
	must(t, "Close other", other.Close())

	time.Sleep(100 * time.Millisecond)
	b := openBolt(t, path, store.WithPrefix("a:"))
	if got := mustGet(t, b, "record"); string(got) != "running" {
		t.Fatalf("record after reopen = %q", got)
	}
	if got := mustGet(t, b, "fence"); string(got) != "7" {
		t.Fatalf("fence after reopen = %q", got)
	}
	ok, err := b.CompareAndExpire(ctx, "lease", []byte("me"), time.Hour)
	wantBool(t, "lease kept its owner", ok, err, true)
	wantNotFound(t, b, "short")
}

// TestBoltCommitFenced: the write happens only while the fence counter holds the token.
func TestBoltCommitFenced(t *testing.T) {
	ctx := context.Background()
	s := openBolt(t, filepath.Join(t.TempDir(), "store.db"))
	ok, err := s.CommitFenced(ctx, "fence", 0, "serving", []byte("v0"))
	wantBool(t, "CommitFenced(absent counter, token 0)", ok, err, true)
	ok, err = s.CommitFenced(ctx, "fence", 1, "serving", []byte("v1"))
	wantBool(t, "CommitFenced(absent counter, token 1)", ok, err, false)
	if got := mustGet(t, s, "serving"); string(got) != "v0" {
		t.Fatalf("serving = %q, want v0", got)
	}

	for _, want := range []int64{1, 2} {
		if n, err := s.Incr(ctx, "fence", 1, time.Hour); err != nil || n != want {
			t.Fatalf("Incr = %d, %v; want %d", n, err, want)
		}
	}
	ok, err = s.CommitFenced(ctx, "fence", 1, "serving", []byte("stale"))
	wantBool(t, "CommitFenced(stale token)", ok, err, false)
	ok, err = s.CommitFenced(ctx, "fence", 2, "serving", []byte("v2"))
	wantBool(t, "CommitFenced(current token)", ok, err, true)
	if got := mustGet(t, s, "serving"); string(got) != "v2" {
		t.Fatalf("serving = %q, want v2", got)
	}

	must(t, "Set", s.Set(ctx, "bad", []byte("x"), 0))
	if _, err := s.CommitFenced(ctx, "bad", 0, "serving", []byte("v")); err == nil {
		t.Fatal("CommitFenced on a non-integer counter: no error")
	}
	must(t, "Close", s.Close())
	if _, err := s.CommitFenced(ctx, "fence", 2, "serving", []byte("v")); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("CommitFenced after Close = %v, want ErrClosed", err)
	}
}

// TestBoltSweep: the sweep removes expired keys from the file itself, not only from view.
func TestBoltSweep(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "store.db")
	s := openBolt(t, path, store.WithSweepInterval(20*time.Millisecond))
	must(t, "Set", s.Set(ctx, "gone", []byte("v"), 10*time.Millisecond))
	must(t, "Set", s.Set(ctx, "kept", []byte("v"), 0))
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		keys, err := store.BoltKeys(s)
		if err == nil && slices.Equal(keys, []string{"kept"}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("keys in the store 5s after the expiry = %q, %v; want the sweep to leave [kept]", keys, err)
		}
	}
	must(t, "Close", s.Close())

	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var keys []string
	err = db.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("kv")).ForEach(func(k, _ []byte) error { keys = append(keys, string(k)); return nil })
	})
	if err != nil || len(keys) != 1 || keys[0] != "kept" {
		t.Fatalf("keys in the file = %q, %v; want [kept]", keys, err)
	}
}
