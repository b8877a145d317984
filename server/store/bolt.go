package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// boltBucket holds every key; each value is its expiry (8 bytes, Unix nanoseconds,
// big-endian, 0 for none) followed by the bytes the caller stored.
var boltBucket = []byte("kv")

// boltLockWait is how long opening waits for the file lock: bbolt locks the file for one
// process, so a second server on the same data folder fails at start instead of hanging.
const boltLockWait = 2 * time.Second

// Bolt is the Store kept in one bbolt file: an embedded, durable store for a single
// process. Every write is one fsynced transaction, so what a call returned survives a
// crash of the process or the machine. Expired keys are invisible to reads and deleted
// by writes that meet them and by a sweep every WithSweepInterval.
//
// Opening a path the process already holds shares that file (bbolt's lock is per
// process), each Bolt with its own WithPrefix, as clients of one Redis do; the file
// closes with its last Bolt. It is safe for concurrent use. Create it with OpenBolt or
// Open("bolt:///path/store.db").
type Bolt struct {
	f         *boltFile
	prefix    string
	closed    atomic.Bool
	closeOnce sync.Once
}

// boltFile is one open bbolt database, shared by the Bolts of one path.
type boltFile struct {
	db    *bolt.DB
	path  string
	refs  int           // guarded by boltFiles.mu
	stop  chan struct{} // closed when the last Bolt closes, to end the sweeper
	swept chan struct{} // closed by the sweeper when it returns
}

// boltFiles are the files this process holds, by cleaned absolute path.
var boltFiles = struct {
	mu sync.Mutex
	m  map[string]*boltFile
}{m: map[string]*boltFile{}}

// OpenBolt opens (creating it and its folder if needed) the bbolt file at path.
// Options: WithPrefix, WithSweepInterval (the first opener of a path sets the sweep).
func OpenBolt(path string, opts ...Option) (*Bolt, error) {
	c := newConfig(opts)
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: bolt open %q: %w", path, err)
	}
	boltFiles.mu.Lock()
	defer boltFiles.mu.Unlock()
	f := boltFiles.m[abs]
	if f == nil {
		if f, err = openBoltFile(abs, c.sweepInterval); err != nil {
			return nil, err
		}
		boltFiles.m[abs] = f
	}
	f.refs++
	return &Bolt{f: f, prefix: c.prefix}, nil
}

func openBoltFile(path string, sweepEvery time.Duration) (*boltFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: bolt open %q: %w", path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: boltLockWait})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("store: bolt open %q: another process holds it (one server per data folder without REDIS_URL)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("store: bolt open %q: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(boltBucket)
		return err
	}); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: bolt open %q: %w", path, err)
	}
	if sweepEvery <= 0 {
		sweepEvery = DefaultSweepInterval
	}
	f := &boltFile{db: db, path: path, stop: make(chan struct{}), swept: make(chan struct{})}
	go f.sweep(sweepEvery)
	return f, nil
}

// sweep deletes expired keys every interval until the file closes.
func (f *boltFile) sweep(every time.Duration) {
	defer close(f.swept)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
			now := time.Now()
			_ = f.db.Update(func(tx *bolt.Tx) error {
				c := tx.Bucket(boltBucket).Cursor()
				for k, v := c.First(); k != nil; {
					if boltExpired(v, now) {
						if err := c.Delete(); err != nil {
							return err
						}
						k, v = c.Seek(k) // Delete moves the cursor: find the next key again
						continue
					}
					k, v = c.Next()
				}
				return nil
			})
		}
	}
}

// Name returns "bolt".
func (b *Bolt) Name() string { return "bolt" }

// Path is the file the store lives in.
func (b *Bolt) Path() string { return b.f.path }

// Close releases this Bolt; the file closes with the last one. It is idempotent.
func (b *Bolt) Close() error {
	var err error
	b.closeOnce.Do(func() {
		b.closed.Store(true)
		boltFiles.mu.Lock()
		defer boltFiles.mu.Unlock()
		if b.f.refs--; b.f.refs > 0 {
			return
		}
		delete(boltFiles.m, b.f.path)
		close(b.f.stop)
		<-b.f.swept
		if cerr := b.f.db.Close(); cerr != nil {
			err = fmt.Errorf("store: bolt close: %w", cerr)
		}
	})
	return err
}

// Ping reads the file; it fails after Close.
func (b *Bolt) Ping(ctx context.Context) error {
	return b.view("ping", "", func(*bolt.Bucket) error { return ctx.Err() })
}

// view and update run fn in a read or write transaction on the bucket, after checking
// that b is open, and turn bbolt's errors into ours for op on key.
func (b *Bolt) view(op, key string, fn func(*bolt.Bucket) error) error {
	if b.closed.Load() {
		return fmt.Errorf("store: bolt %s %q: %w", op, key, ErrClosed)
	}
	return b.wrap(op, key, b.f.db.View(func(tx *bolt.Tx) error { return fn(tx.Bucket(boltBucket)) }))
}

func (b *Bolt) update(op, key string, fn func(*bolt.Bucket) error) error {
	if b.closed.Load() {
		return fmt.Errorf("store: bolt %s %q: %w", op, key, ErrClosed)
	}
	return b.wrap(op, key, b.f.db.Update(func(tx *bolt.Tx) error { return fn(tx.Bucket(boltBucket)) }))
}

// boltOpError marks an error fn itself returned, which wrap passes on unchanged.
type boltOpError struct{ error }

// wrap names op and key on a bbolt error: a closed database is ErrClosed, and any other
// failure of the file (disk full, I/O error) ErrUnavailable, as a lost Redis is.
func (b *Bolt) wrap(op, key string, err error) error {
	var own boltOpError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &own):
		return own.error
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("store: bolt %s %q: %w", op, key, err)
	case errors.Is(err, bolterrors.ErrDatabaseNotOpen):
		return fmt.Errorf("store: bolt %s %q: %w", op, key, ErrClosed)
	}
	return fmt.Errorf("store: bolt %s %q: %w: %w", op, key, ErrUnavailable, err)
}

// k is key as stored in the file.
func (b *Bolt) k(key string) []byte { return []byte(b.prefix + key) }

// boltValue encodes val with its expiry (zero Time: none).
func boltValue(val []byte, exp time.Time) []byte {
	out := make([]byte, 8, 8+len(val))
	if !exp.IsZero() {
		binary.BigEndian.PutUint64(out, uint64(exp.UnixNano()))
	}
	return append(out, val...)
}

// boltExpiry is the expiry stored in raw; the zero Time for none.
func boltExpiry(raw []byte) time.Time {
	if n := binary.BigEndian.Uint64(raw[:8]); n != 0 {
		return time.Unix(0, int64(n)) //nolint:gosec // G115: written from a positive int64 (boltValue)
	}
	return time.Time{}
}

func boltExpired(raw []byte, now time.Time) bool {
	exp := boltExpiry(raw)
	return len(raw) < 8 || (!exp.IsZero() && !now.Before(exp))
}

// live returns key's value (without its expiry header) and expiry, or ok false when it is
// absent or expired. The slice belongs to the transaction: copy it to keep it.
func live(bk *bolt.Bucket, key []byte, now time.Time) (val []byte, exp time.Time, ok bool) {
	raw := bk.Get(key)
	if raw == nil || boltExpired(raw, now) {
		return nil, time.Time{}, false
	}
	return raw[8:], boltExpiry(raw), true
}

// Get returns a copy of key's value, or an error wrapping ErrNotFound.
func (b *Bolt) Get(ctx context.Context, key string) ([]byte, error) {
	var out []byte
	err := b.view("get", key, func(bk *bolt.Bucket) error {
		val, _, ok := live(bk, b.k(key), time.Now())
		if !ok {
			return boltOpError{fmt.Errorf("store: bolt get %q: %w", key, ErrNotFound)}
		}
		out = bytes.Clone(val)
		if out == nil {
			out = []byte{}
		}
		return nil
	})
	return out, err
}

// Set stores val under key.
func (b *Bolt) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if err := checkTTL("bolt", "set", key, ttl); err != nil {
		return err
	}
	return b.update("set", key, func(bk *bolt.Bucket) error {
		return bk.Put(b.k(key), boltValue(val, expiry(time.Now(), ttl)))
	})
}

// SetNX stores val under key if key is absent or expired.
func (b *Bolt) SetNX(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error) {
	if err := checkTTL("bolt", "setnx", key, ttl); err != nil {
		return false, err
	}
	var set bool
	err := b.update("setnx", key, func(bk *bolt.Bucket) error {
		now := time.Now()
		if _, _, ok := live(bk, b.k(key), now); ok {
			return nil
		}
		set = true
		return bk.Put(b.k(key), boltValue(val, expiry(now, ttl)))
	})
	return set && err == nil, err
}

// CompareAndDelete deletes key if it holds val.
func (b *Bolt) CompareAndDelete(ctx context.Context, key string, val []byte) (bool, error) {
	var done bool
	err := b.update("compare-and-delete", key, func(bk *bolt.Bucket) error {
		cur, _, ok := live(bk, b.k(key), time.Now())
		if !ok || !bytes.Equal(cur, val) {
			return nil
		}
		done = true
		return bk.Delete(b.k(key))
	})
	return done && err == nil, err
}

// CompareAndExpire sets key's expiry to ttl from now if it holds val.
func (b *Bolt) CompareAndExpire(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error) {
	if err := checkTTL("bolt", "compare-and-expire", key, ttl); err != nil {
		return false, err
	}
	var done bool
	err := b.update("compare-and-expire", key, func(bk *bolt.Bucket) error {
		now := time.Now()
		cur, _, ok := live(bk, b.k(key), now)
		if !ok || !bytes.Equal(cur, val) {
			return nil
		}
		done = true
		return bk.Put(b.k(key), boltValue(cur, expiry(now, ttl)))
	})
	return done && err == nil, err
}

// Delete removes keys in one transaction.
func (b *Bolt) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	return b.update("delete", keys[0], func(bk *bolt.Bucket) error {
		for _, k := range keys {
			if err := bk.Delete(b.k(k)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Incr adds by to key's integer value, creating it with expiry ttl when absent.
func (b *Bolt) Incr(ctx context.Context, key string, by int64, ttl time.Duration) (int64, error) {
	if err := checkTTL("bolt", "incr", key, ttl); err != nil {
		return 0, err
	}
	var n int64
	err := b.update("incr", key, func(bk *bolt.Bucket) error {
		now := time.Now()
		cur, exp, ok := live(bk, b.k(key), now)
		if !ok {
			n, exp = 0, expiry(now, ttl)
		} else if v, err := strconv.ParseInt(string(cur), 10, 64); err != nil {
			return boltOpError{fmt.Errorf("store: bolt incr %q: value is not an integer", key)}
		} else {
			n = v
		}
		sum, err := addInt64("bolt", key, n, by)
		if err != nil {
			return boltOpError{err}
		}
		n = sum
		return bk.Put(b.k(key), boltValue(strconv.AppendInt(nil, n, 10), exp))
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// CommitFenced sets key to val (no expiry) only if the counter fenceKey holds exactly
// token (an absent counter is 0), in one transaction, and reports whether it did.
func (b *Bolt) CommitFenced(ctx context.Context, fenceKey string, token int64, key string, val []byte) (bool, error) {
	var done bool
	err := b.update("commit-fenced", key, func(bk *bolt.Bucket) error {
		var fence int64
		if cur, _, ok := live(bk, b.k(fenceKey), time.Now()); ok {
			v, err := strconv.ParseInt(string(cur), 10, 64)
			if err != nil {
				return boltOpError{fmt.Errorf("store: bolt commit-fenced %q: fence %q is not an integer", key, fenceKey)}
			}
			fence = v
		}
		if fence != token {
			return nil
		}
		done = true
		return bk.Put(b.k(key), boltValue(val, time.Time{}))
	})
	return done && err == nil, err
}

// Scan walks the live keys starting with prefix in batches of scanBatch, each read in its
// own transaction; fn runs between transactions, so it may use the store.
func (b *Bolt) Scan(ctx context.Context, prefix string, fn func(key string) error) error {
	full := b.k(prefix)
	from, resume := full, false
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("store: bolt scan %q: %w", prefix, err)
		}
		var keys []string
		var last []byte
		err := b.view("scan", prefix, func(bk *bolt.Bucket) error {
			now := time.Now()
			c := bk.Cursor()
			k, v := c.Seek(from)
			if resume && bytes.Equal(k, from) {
				k, v = c.Next() // the previous batch's last key, already handed over
			}
			for ; k != nil && bytes.HasPrefix(k, full) && len(keys) < scanBatch; k, v = c.Next() {
				last = bytes.Clone(k)
				if !boltExpired(v, now) {
					keys = append(keys, string(k[len(b.prefix):]))
				}
			}
			if k == nil || !bytes.HasPrefix(k, full) {
				last = nil // the walk is over
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := fn(k); err != nil {
				return err
			}
		}
		if last == nil {
			return nil
		}
		from, resume = last, true
	}
}

// RateLimit runs one GCRA step on key in one transaction, on the wall clock in
// microseconds (the only clock that outlives the process, as the stored TAT does).
func (b *Bolt) RateLimit(ctx context.Context, key string, limit int, window time.Duration) (RateLimitResult, error) {
	interval, horizon, err := gcraParams("bolt", key, limit, window)
	if err != nil {
		return RateLimitResult{}, err
	}
	var res RateLimitResult
	err = b.update("ratelimit", key, func(bk *bolt.Bucket) error {
		wall := time.Now()
		now := wall.UnixMicro()
		var tat int64
		if cur, _, ok := live(bk, b.k(key), wall); ok {
			tat, _ = strconv.ParseInt(string(cur), 10, 64) // not a TAT: treat the bucket as new
		}
		var next int64
		next, res = gcraStep(now, tat, interval, horizon)
		if !res.Allowed {
			return nil
		}
		return bk.Put(b.k(key), boltValue(strconv.AppendInt(nil, next, 10), wall.Add(micros(next-now))))
	})
	return res, err
}
