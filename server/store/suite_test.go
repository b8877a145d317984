package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"stockagent/server/store"
	"stockagent/server/store/storetest"
)

// ttlShort is the expiry of keys meant to expire in the TTL suite, and ttlWait how long
// the suite waits for them: twice as long, so a slow machine does not make it flaky.
const (
	ttlShort = 250 * time.Millisecond
	ttlWait  = 2 * ttlShort
)

// TestStore runs every suite below against both backends.
func TestStore(t *testing.T) {
	suites := map[string]func(t *testing.T, s store.Store){
		"GetSetDelete":     testGetSetDelete,
		"TTL":              testTTL,
		"NegativeTTL":      testNegativeTTL,
		"SetNX":            testSetNX,
		"CompareAndDelete": testCompareAndDelete,
		"CompareAndExpire": testCompareAndExpire,
		"Incr":             testIncr,
		"IncrConcurrent":   testIncrConcurrent,
		"CommitFenced":     testCommitFenced,
		"Scan":             testScan,
		"ScanLiteral":      testScanLiteral,
		"ScanStops":        testScanStops,
		"RateLimit":        testRateLimit,
		"Closed":           testClosed,
	}
	opened := map[string]func(t *testing.T, b storetest.Backend){}
	for name, suite := range suites {
		opened[name] = func(t *testing.T, b storetest.Backend) {
			s := b.Open(t, store.WithSweepInterval(50*time.Millisecond))
			if s.Name() != b.Name {
				t.Fatalf("Name() = %q, want %q", s.Name(), b.Name)
			}
			suite(t, s)
		}
	}
	storetest.RunSuites(t, opened)
}

// mustGet returns key's value, failing t on any error.
func mustGet(t *testing.T, s store.Store, key string) []byte {
	t.Helper()
	v, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return v
}

// wantNotFound fails t unless key is absent.
func wantNotFound(t *testing.T, s store.Store, key string) {
	t.Helper()
	v, err := s.Get(context.Background(), key)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%q) = %q, %v; want ErrNotFound", key, v, err)
	}
}

// must fails t on err.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wantBool fails t unless a (bool, error) call returned want and no error.
func wantBool(t *testing.T, what string, got bool, err error, want bool) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func testGetSetDelete(t *testing.T, s store.Store) {
	ctx := context.Background()
	wantNotFound(t, s, "missing")

	val := []byte("v1\x00\xff binary")
	must(t, "Set", s.Set(ctx, "k", val, 0))
	val[0] = 'X' // the store holds its own copy
	if got := mustGet(t, s, "k"); !bytes.Equal(got, []byte("v1\x00\xff binary")) {
		t.Fatalf("Get = %q after the caller changed its slice", got)
	}
	got := mustGet(t, s, "k")
	got[0] = 'Y' // and hands out copies
	if again := mustGet(t, s, "k"); again[0] != 'v' {
		t.Fatalf("Get = %q after the caller changed a returned slice", again)
	}

	must(t, "Set overwrite", s.Set(ctx, "k", []byte("v2"), 0))
	if got := mustGet(t, s, "k"); string(got) != "v2" {
		t.Fatalf("Get after overwrite = %q, want v2", got)
	}
	must(t, "Set empty", s.Set(ctx, "empty", nil, 0))
	if got := mustGet(t, s, "empty"); len(got) != 0 {
		t.Fatalf("Get(empty) = %q, want empty", got)
	}

	must(t, "Set k2", s.Set(ctx, "k2", []byte("x"), 0))
	must(t, "Delete", s.Delete(ctx, "k", "k2", "never-existed"))
	must(t, "Delete nothing", s.Delete(ctx))
	wantNotFound(t, s, "k")
	wantNotFound(t, s, "k2")
	must(t, "Ping", s.Ping(ctx))
}

// testTTL checks expiry with one wait shared by all cases: each case prepares keys before
// the wait and checks them after.
func testTTL(t *testing.T, s store.Store) {
	ctx := context.Background()
	type ttlCase struct {
		before func(t *testing.T) // runs now; keys may expire after ttlShort
		after  func(t *testing.T) // runs after ttlWait
	}
	cases := map[string]ttlCase{
		"Set expires": {
			before: func(t *testing.T) {
				must(t, "Set", s.Set(ctx, "set", []byte("v"), ttlShort))
				mustGet(t, s, "set")
			},
			after: func(t *testing.T) { wantNotFound(t, s, "set") },
		},
		"ttl 0 never expires": {
			before: func(t *testing.T) { must(t, "Set", s.Set(ctx, "forever", []byte("v"), 0)) },
			after:  func(t *testing.T) { mustGet(t, s, "forever") },
		},
		"Set without ttl clears the old expiry": {
			before: func(t *testing.T) {
				must(t, "Set", s.Set(ctx, "reset", []byte("v"), ttlShort))
				must(t, "Set again", s.Set(ctx, "reset", []byte("v"), 0))
			},
			after: func(t *testing.T) { mustGet(t, s, "reset") },
		},
		"SetNX lease expires and can be taken again": {
			before: func(t *testing.T) {
				ok, err := s.SetNX(ctx, "lease", []byte("a"), ttlShort)
				wantBool(t, "SetNX", ok, err, true)
			},
			after: func(t *testing.T) {
				ok, err := s.SetNX(ctx, "lease", []byte("b"), 0)
				wantBool(t, "SetNX after expiry", ok, err, true)
			},
		},
		"Incr creates with ttl": {
			before: func(t *testing.T) {
				n, err := s.Incr(ctx, "counter", 3, ttlShort)
				must(t, "Incr", err)
				if n != 3 {
					t.Fatalf("Incr = %d, want 3", n)
				}
			},
			after: func(t *testing.T) {
				wantNotFound(t, s, "counter")
				n, err := s.Incr(ctx, "counter", 1, 0)
				must(t, "Incr after expiry", err)
				if n != 1 {
					t.Fatalf("Incr after expiry = %d, want 1 (a fresh counter)", n)
				}
			},
		},
		"Incr keeps an existing key's expiry": {
			before: func(t *testing.T) {
				must(t, "Set", s.Set(ctx, "kept", []byte("5"), 0))
				_, err := s.Incr(ctx, "kept", 1, ttlShort)
				must(t, "Incr", err)
			},
			after: func(t *testing.T) {
				if got := mustGet(t, s, "kept"); string(got) != "6" {
					t.Fatalf("Get = %q, want 6", got)
				}
			},
		},
		"CompareAndExpire renews the owner's lease": {
			before: func(t *testing.T) {
				must(t, "Set", s.Set(ctx, "renewed", []byte("me"), ttlShort))
				ok, err := s.CompareAndExpire(ctx, "renewed", []byte("me"), time.Hour)
				wantBool(t, "CompareAndExpire(owner)", ok, err, true)
			},
			after: func(t *testing.T) { mustGet(t, s, "renewed") },
		},
		"CompareAndExpire ignores others": {
			before: func(t *testing.T) {
				must(t, "Set", s.Set(ctx, "stolen", []byte("me"), ttlShort))
				ok, err := s.CompareAndExpire(ctx, "stolen", []byte("other"), time.Hour)
				wantBool(t, "CompareAndExpire(other)", ok, err, false)
			},
			after: func(t *testing.T) { wantNotFound(t, s, "stolen") },
		},
		"CompareAndExpire with ttl 0 removes the expiry": {
			before: func(t *testing.T) {
				must(t, "Set", s.Set(ctx, "persist", []byte("me"), ttlShort))
				ok, err := s.CompareAndExpire(ctx, "persist", []byte("me"), 0)
				wantBool(t, "CompareAndExpire(0)", ok, err, true)
			},
			after: func(t *testing.T) { mustGet(t, s, "persist") },
		},
		"expired keys leave Scan": {
			before: func(t *testing.T) {
				must(t, "Set", s.Set(ctx, "scan:gone", []byte("v"), ttlShort))
				must(t, "Set", s.Set(ctx, "scan:kept", []byte("v"), 0))
			},
			after: func(t *testing.T) {
				var got []string
				must(t, "Scan", s.Scan(ctx, "scan:", func(k string) error { got = append(got, k); return nil }))
				if len(got) != 1 || got[0] != "scan:kept" {
					t.Fatalf("Scan = %q, want [scan:kept]", got)
				}
			},
		},
		"expired lock cannot be released": {
			before: func(t *testing.T) {
				must(t, "Set", s.Set(ctx, "lock", []byte("me"), ttlShort))
			},
			after: func(t *testing.T) {
				ok, err := s.CompareAndDelete(ctx, "lock", []byte("me"))
				wantBool(t, "CompareAndDelete after expiry", ok, err, false)
			},
		},
	}
	for name, c := range cases {
		t.Run(name, c.before)
	}
	time.Sleep(ttlWait)
	for name, c := range cases {
		t.Run(name, c.after)
	}
}

func testNegativeTTL(t *testing.T, s store.Store) {
	ctx := context.Background()
	calls := map[string]func() error{
		"Set": func() error { return s.Set(ctx, "neg", []byte("v"), -time.Second) },
		"SetNX": func() error {
			_, err := s.SetNX(ctx, "neg", []byte("v"), -time.Second)
			return err
		},
		"Incr": func() error {
			_, err := s.Incr(ctx, "neg", 1, -time.Second)
			return err
		},
		"CompareAndExpire": func() error {
			_, err := s.CompareAndExpire(ctx, "neg", []byte("v"), -time.Second)
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			if err := call(); err == nil {
				t.Fatal("negative ttl accepted")
			}
			wantNotFound(t, s, "neg")
		})
	}
}

func testSetNX(t *testing.T, s store.Store) {
	ctx := context.Background()
	ok, err := s.SetNX(ctx, "lock", []byte("a"), time.Minute)
	wantBool(t, "first SetNX", ok, err, true)
	ok, err = s.SetNX(ctx, "lock", []byte("b"), time.Minute)
	wantBool(t, "second SetNX", ok, err, false)
	if got := mustGet(t, s, "lock"); string(got) != "a" {
		t.Fatalf("value after a lost SetNX = %q, want a", got)
	}
	must(t, "Delete", s.Delete(ctx, "lock"))
	ok, err = s.SetNX(ctx, "lock", []byte("c"), 0)
	wantBool(t, "SetNX after Delete", ok, err, true)

	// 50 contenders, one winner.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var winners []int
	var errs []error
	for i := range 50 {
		wg.Go(func() {
			ok, err := s.SetNX(ctx, "contended", []byte(strconv.Itoa(i)), time.Minute)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if ok {
				winners = append(winners, i)
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("concurrent SetNX: %v", errs[0])
	}
	if len(winners) != 1 {
		t.Fatalf("concurrent SetNX: %d winners (%v), want 1", len(winners), winners)
	}
	if got := mustGet(t, s, "contended"); string(got) != strconv.Itoa(winners[0]) {
		t.Fatalf("value = %q, want the winner's %d", got, winners[0])
	}
}

func testCompareAndDelete(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, "Set", s.Set(ctx, "lock", []byte("owner"), time.Minute))

	ok, err := s.CompareAndDelete(ctx, "lock", []byte("intruder"))
	wantBool(t, "CompareAndDelete(intruder)", ok, err, false)
	mustGet(t, s, "lock")

	ok, err = s.CompareAndDelete(ctx, "lock", []byte("owner"))
	wantBool(t, "CompareAndDelete(owner)", ok, err, true)
	wantNotFound(t, s, "lock")

	ok, err = s.CompareAndDelete(ctx, "lock", []byte("owner"))
	wantBool(t, "CompareAndDelete(absent)", ok, err, false)
}

func testCompareAndExpire(t *testing.T, s store.Store) {
	ctx := context.Background()
	ok, err := s.CompareAndExpire(ctx, "absent", []byte("me"), time.Minute)
	wantBool(t, "CompareAndExpire(absent)", ok, err, false)
	wantNotFound(t, s, "absent")

	must(t, "Set", s.Set(ctx, "lease", []byte("me"), time.Minute))
	ok, err = s.CompareAndExpire(ctx, "lease", []byte("m"), time.Minute) // a prefix is not the value
	wantBool(t, "CompareAndExpire(prefix)", ok, err, false)
	ok, err = s.CompareAndExpire(ctx, "lease", []byte("me"), time.Minute)
	wantBool(t, "CompareAndExpire(owner)", ok, err, true)
	if got := mustGet(t, s, "lease"); string(got) != "me" {
		t.Fatalf("value after renewal = %q, want me", got)
	}
}

func testIncr(t *testing.T, s store.Store) {
	ctx := context.Background()
	steps := []struct {
		by, want int64
	}{{1, 1}, {41, 42}, {-50, -8}, {0, -8}}
	for _, st := range steps {
		n, err := s.Incr(ctx, "n", st.by, 0)
		must(t, fmt.Sprintf("Incr(%d)", st.by), err)
		if n != st.want {
			t.Fatalf("Incr(%d) = %d, want %d", st.by, n, st.want)
		}
	}
	if got := mustGet(t, s, "n"); string(got) != "-8" {
		t.Fatalf("Get after Incr = %q, want decimal text -8", got)
	}

	must(t, "Set text", s.Set(ctx, "text", []byte("twelve"), 0))
	if n, err := s.Incr(ctx, "text", 1, 0); err == nil {
		t.Fatalf("Incr on a non-integer = %d, want an error", n)
	}
	must(t, "Set max", s.Set(ctx, "max", []byte(strconv.FormatInt(math.MaxInt64, 10)), 0))
	if n, err := s.Incr(ctx, "max", 1, 0); err == nil {
		t.Fatalf("Incr past MaxInt64 = %d, want an error", n)
	}
	if got := mustGet(t, s, "max"); string(got) != strconv.FormatInt(math.MaxInt64, 10) {
		t.Fatalf("value after a failed Incr = %q", got)
	}
}

func testIncrConcurrent(t *testing.T, s store.Store) {
	const workers, each = 50, 20
	ctx := context.Background()
	var wg sync.WaitGroup
	results := make([][]int64, workers)
	errs := make([]error, workers)
	for w := range workers {
		wg.Go(func() {
			for range each {
				n, err := s.Incr(ctx, "hits", 1, time.Minute)
				if err != nil {
					errs[w] = err
					return
				}
				results[w] = append(results[w], n)
			}
		})
	}
	wg.Wait()
	seen := make(map[int64]bool)
	for w := range workers {
		if errs[w] != nil {
			t.Fatalf("worker %d: %v", w, errs[w])
		}
		for _, n := range results[w] {
			if seen[n] {
				t.Fatalf("Incr returned %d twice", n)
			}
			seen[n] = true
		}
	}
	for n := int64(1); n <= workers*each; n++ {
		if !seen[n] {
			t.Fatalf("no Incr returned %d", n)
		}
	}
	if got := mustGet(t, s, "hits"); string(got) != strconv.Itoa(workers*each) {
		t.Fatalf("final count = %s, want %d", got, workers*each)
	}
}

// testCommitFenced: only the holder of the current token commits; an absent counter
// is 0; a superseded token never writes again; the committed key has no expiry.
func testCommitFenced(t *testing.T, s store.Store) {
	ctx := context.Background()
	ok, err := s.CommitFenced(ctx, "fence:m", 1, "ptr", []byte("v1"))
	wantBool(t, "CommitFenced(1) with no counter", ok, err, false)
	wantNotFound(t, s, "ptr")
	ok, err = s.CommitFenced(ctx, "fence:m", 0, "ptr", []byte("v0"))
	wantBool(t, "CommitFenced(0) with no counter", ok, err, true)

	old, err := s.Incr(ctx, "fence:m", 1, 0)
	must(t, "Incr", err)
	ok, err = s.CommitFenced(ctx, "fence:m", old, "ptr", []byte("old"))
	wantBool(t, "CommitFenced(current)", ok, err, true)
	if got := mustGet(t, s, "ptr"); string(got) != "old" {
		t.Fatalf("after a commit = %q, want old", got)
	}
	cur, err := s.Incr(ctx, "fence:m", 1, 0) // another holder takes over
	must(t, "Incr", err)
	ok, err = s.CommitFenced(ctx, "fence:m", old, "ptr", []byte("stale"))
	wantBool(t, "CommitFenced(superseded)", ok, err, false)
	ok, err = s.CommitFenced(ctx, "fence:m", cur+1, "ptr", []byte("future"))
	wantBool(t, "CommitFenced(future)", ok, err, false)
	ok, err = s.CommitFenced(ctx, "fence:m", cur, "ptr", []byte("new"))
	wantBool(t, "CommitFenced(new holder)", ok, err, true)
	if got := mustGet(t, s, "ptr"); string(got) != "new" {
		t.Fatalf("after the takeover = %q, want new", got)
	}

	// The committed key replaces one that had an expiry and keeps none.
	must(t, "Set", s.Set(ctx, "rec", []byte("x"), ttlShort))
	ok, err = s.CommitFenced(ctx, "fence:m", cur, "rec", []byte("y"))
	wantBool(t, "CommitFenced(rec)", ok, err, true)
	time.Sleep(ttlWait)
	if got := mustGet(t, s, "rec"); string(got) != "y" {
		t.Fatalf("committed key after the old expiry = %q", got)
	}

	// Concurrent commits with one token each: only the current one lands.
	var wg sync.WaitGroup
	wins := make([]bool, 20)
	for i := range wins {
		wg.Go(func() {
			ok, err := s.CommitFenced(ctx, "fence:m", int64(i), "race", []byte(strconv.Itoa(i)))
			wins[i] = ok && err == nil
		})
	}
	wg.Wait()
	for i, won := range wins {
		if won != (int64(i) == cur) {
			t.Fatalf("token %d committed = %v (current %d)", i, won, cur)
		}
	}
}

// scanAll returns the keys Scan reports for prefix, sorted, with duplicates removed
// (Redis may repeat a key; see Store.Scan).
func scanAll(t *testing.T, s store.Store, prefix string) []string {
	t.Helper()
	set := make(map[string]bool)
	must(t, "Scan", s.Scan(context.Background(), prefix, func(k string) error {
		set[k] = true
		return nil
	}))
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func testScan(t *testing.T, s store.Store) {
	ctx := context.Background()
	const n = 1500 // three SCAN batches at least
	var want []string
	for i := range n {
		k := fmt.Sprintf("predict_child_%04d", i)
		want = append(want, k)
		must(t, "Set", s.Set(ctx, k, []byte("v"), time.Minute))
	}
	for _, k := range []string{"predict_child", "predict_parent", "task:predict_child_1", "other"} {
		must(t, "Set", s.Set(ctx, k, []byte("v"), time.Minute))
	}
	got := scanAll(t, s, "predict_child_")
	if len(got) != n {
		t.Fatalf("Scan found %d keys, want %d", len(got), n)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Scan key %d = %q, want %q", i, got[i], want[i])
		}
	}

	// fn may use the store while scanning.
	var seen int
	must(t, "Scan with Get", s.Scan(ctx, "predict_child_00", func(k string) error {
		seen++
		_, err := s.Get(ctx, k)
		return err
	}))
	if seen != 100 {
		t.Fatalf("Scan(predict_child_00) saw %d keys, want 100", seen)
	}
	if all := scanAll(t, s, ""); len(all) != n+4 {
		t.Fatalf("Scan(\"\") found %d keys, want %d", len(all), n+4)
	}
}

func testScanLiteral(t *testing.T, s store.Store) {
	ctx := context.Background()
	keys := []string{`a*[b]?:1`, `a*[b]?:2`, `aX[b]?:3`, `a*[c]?:4`, `a*[b]x:5`, `a\*:6`, `a^-:7`}
	for _, k := range keys {
		must(t, "Set", s.Set(ctx, k, []byte("v"), time.Minute))
	}
	cases := map[string]struct {
		prefix string
		want   []string
	}{
		"star, brackets and question mark": {`a*[b]?:`, []string{`a*[b]?:1`, `a*[b]?:2`}},
		"backslash":                        {`a\`, []string{`a\*:6`}},
		"caret and dash":                   {`a^-`, []string{`a^-:7`}},
		"no match":                         {`a?`, nil},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got := scanAll(t, s, c.prefix)
			if fmt.Sprint(got) != fmt.Sprint(c.want) && (len(got) != 0 || len(c.want) != 0) {
				t.Fatalf("Scan(%q) = %q, want %q", c.prefix, got, c.want)
			}
		})
	}
}

func testScanStops(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i := range 20 {
		must(t, "Set", s.Set(ctx, fmt.Sprintf("k%02d", i), []byte("v"), time.Minute))
	}
	stop := errors.New("stop here")
	calls := 0
	err := s.Scan(ctx, "k", func(string) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("Scan with a failing fn = %v after %d calls, want %v after 1", err, calls, stop)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	err = s.Scan(cancelled, "k", func(string) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Scan with a cancelled context = %v, want context.Canceled", err)
	}
}

func testRateLimit(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i, wantRemaining := range []int{2, 1, 0} {
		r, err := s.RateLimit(ctx, "rl:a", 3, time.Hour)
		must(t, "RateLimit", err)
		if !r.Allowed || r.Remaining != wantRemaining || r.RetryAfter != 0 {
			t.Fatalf("call %d = %+v, want allowed with %d remaining", i+1, r, wantRemaining)
		}
		if want := time.Duration(i+1) * 20 * time.Minute; r.ResetAfter > want || r.ResetAfter < want-time.Minute {
			t.Fatalf("call %d ResetAfter = %v, want about %v", i+1, r.ResetAfter, want)
		}
	}
	r, err := s.RateLimit(ctx, "rl:a", 3, time.Hour)
	must(t, "RateLimit", err)
	if r.Allowed || r.Remaining != 0 || r.RetryAfter <= 19*time.Minute || r.RetryAfter > 20*time.Minute {
		t.Fatalf("4th call = %+v, want refused with RetryAfter about 20m", r)
	}
	if r, err := s.RateLimit(ctx, "rl:b", 3, time.Hour); err != nil || !r.Allowed {
		t.Fatalf("another key = %+v, %v; want allowed", r, err)
	}
	for name, p := range map[string]struct {
		limit  int
		window time.Duration
	}{"zero limit": {0, time.Hour}, "zero window": {3, 0}, "too fast": {1000, time.Microsecond}} {
		if _, err := s.RateLimit(ctx, "rl:bad", p.limit, p.window); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// testClosed writes nothing, so that a closed store leaves no keys on a shared server.
func testClosed(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, "Ping", s.Ping(ctx))
	must(t, "Close", s.Close())
	must(t, "second Close", s.Close())
	calls := map[string]func() error{
		"Get":  func() error { _, err := s.Get(ctx, "k"); return err },
		"Set":  func() error { return s.Set(ctx, "k", []byte("v"), 0) },
		"Incr": func() error { _, err := s.Incr(ctx, "n", 1, 0); return err },
		"Scan": func() error { return s.Scan(ctx, "", func(string) error { return nil }) },
		"Ping": func() error { return s.Ping(ctx) },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
}
