package vectorstore

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Memory is the in-process Store: a map of points searched by brute force (a few thousand
// dot products per search, well under a millisecond), guarded by one lock.
//
// When it has a file, every change (Upsert, and DeleteBefore or Clear that delete something)
// is in the file before the call returns: the whole file is rewritten to a temporary file,
// synced and renamed over the old one, so a crash leaves either the old state or the new
// one. Changes made while a write is under way share the next write. The cache changes
// once per written report, so this costs little (about 70 ms at a thousand 4 KB reports,
// and searches do not wait for it). Only one process may use a file.
//
// It is safe for concurrent use. Create it with NewMemory; the zero Memory is not usable.
type Memory struct {
	path string // file holding the points; "" when not persisted
	log  *slog.Logger

	// saveMu serialises file writes. It is never taken while holding mu, so a slow disk
	// delays writers but never searches.
	saveMu   sync.Mutex
	savedGen uint64 // guarded by saveMu; the generation the file holds

	mu     sync.RWMutex
	dim    int               // guarded by mu; 0 until the first vector fixes it
	points map[string]*point // guarded by mu; by ID; a *point is never modified once stored
	gen    uint64            // guarded by mu; counts changes to points
	closed bool              // guarded by mu
}

// point is a stored Point with its creation time in Unix milliseconds.
type point = prepared

// NewMemory returns a Memory store persisted in dataDir/FileName, or held in memory only
// when dataDir is "". It creates dataDir if needed and loads the file if there is one.
//
// A file that cannot be read as a point set (truncated, edited, another format) is renamed
// to FileName+".corrupt-<time>" beside it, reported through WithLogger at warning level,
// and the store starts empty. A file of another dimension than a non-zero dim is an error
// (wrapping a *DimensionError), as a Qdrant collection of another size is: the embedding
// model changed, and the old reports cannot be compared with new ones. Remove the file to
// start over. dim 0 takes the file's dimension, or the first point's.
func NewMemory(dataDir string, dim int, opts ...Option) (*Memory, error) {
	if dim < 0 {
		return nil, fmt.Errorf("vectorstore: memory open: negative dimension %d", dim)
	}
	c := newConfig(opts)
	m := &Memory{log: c.logger, dim: dim, points: make(map[string]*point)}
	if dataDir == "" {
		return m, nil
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("vectorstore: memory open: %w", err)
	}
	m.path = filepath.Join(dataDir, FileName)
	f, err := readFile(m.path)
	switch {
	case err == nil && f == nil: // no file yet
	case err != nil:
		aside := fmt.Sprintf("%s.corrupt-%s", m.path, time.Now().UTC().Format("20060102T150405.000000000Z"))
		if rerr := os.Rename(m.path, aside); rerr != nil {
			return nil, fmt.Errorf("vectorstore: memory open: %w; moving it aside failed: %w", err, rerr)
		}
		m.log.Warn("vectorstore: semantic cache file unreadable; moved aside, starting empty",
			"file", m.path, "moved_to", aside, "err", err)
	case dim != 0 && f.dim != 0 && f.dim != dim:
		return nil, fmt.Errorf("vectorstore: memory open: %w (remove the file to start over)",
			&DimensionError{Want: f.dim, Got: dim, Where: fmt.Sprintf("file %s", m.path)})
	default:
		if m.dim == 0 {
			m.dim = f.dim
		}
		for _, p := range f.points {
			m.points[p.ID] = p
		}
	}
	return m, nil
}

// Name returns "memory".
func (m *Memory) Name() string { return "memory" }

// Close marks the store closed and drops its points; the file already holds every change.
// It is idempotent.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.points = nil
	return nil
}

// Ping fails only after Close.
func (m *Memory) Ping(ctx context.Context) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return fmt.Errorf("vectorstore: memory ping: %w", ErrClosed)
	}
	return ctx.Err()
}

// Search scans every point of scope.
func (m *Memory) Search(ctx context.Context, scope Scope, vector []float32, since time.Time, minScore float64) (Hit, bool, error) {
	what := fmt.Sprintf("vectorstore: memory search %q", scope.Ticker)
	if err := scope.check(); err != nil {
		return Hit{}, false, fmt.Errorf("%s: %w", what, err)
	}
	q, err := unitVector(vector)
	if err != nil {
		return Hit{}, false, fmt.Errorf("%s: %w", what, err)
	}
	sinceMs := sinceMillis(since)
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return Hit{}, false, fmt.Errorf("%s: %w", what, ErrClosed)
	}
	if m.dim == 0 {
		return Hit{}, false, nil
	}
	if len(q) != m.dim {
		return Hit{}, false, fmt.Errorf("%s: %w", what, &DimensionError{Want: m.dim, Got: len(q)})
	}
	var best *point
	var bestScore float64
	for _, p := range m.points {
		if p.Scope != scope || p.ms < sinceMs {
			continue
		}
		s := dot(q, p.Vector)
		if s < minScore {
			continue
		}
		if best == nil || s > bestScore || (s == bestScore && p.ms > best.ms) {
			best, bestScore = p, s
		}
	}
	if best == nil {
		return Hit{}, false, nil
	}
	return Hit{Point: clonePoint(best.Point), Score: bestScore}, true, nil
}

// Upsert stores p and saves the file. If the write fails, the point stays in memory
// (searches see it) and the error says the file was not updated.
func (m *Memory) Upsert(ctx context.Context, p Point) error {
	what := fmt.Sprintf("vectorstore: memory upsert %q", p.Ticker)
	sp, err := prepare(p, time.Now())
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return fmt.Errorf("%s: %w", what, ErrClosed)
	}
	if m.dim == 0 {
		m.dim = len(sp.Vector)
	}
	if len(sp.Vector) != m.dim {
		m.mu.Unlock()
		return fmt.Errorf("%s: %w", what, &DimensionError{Want: m.dim, Got: len(sp.Vector)})
	}
	m.points[sp.ID] = &sp
	m.gen++
	gen := m.gen
	m.mu.Unlock()
	return m.save(what, gen)
}

// DeleteBefore deletes the points created before t.
func (m *Memory) DeleteBefore(ctx context.Context, t time.Time) (int, error) {
	const what = "vectorstore: memory delete-before"
	ms := t.UnixMilli()
	return m.deleteWhere(what, func(p *point) bool { return p.ms < ms })
}

// Clear deletes every point.
func (m *Memory) Clear(ctx context.Context) (int, error) {
	return m.deleteWhere("vectorstore: memory clear", func(*point) bool { return true })
}

// deleteWhere deletes the points for which del is true and, if there were any, rewrites
// the file.
func (m *Memory) deleteWhere(what string, del func(*point) bool) (int, error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return 0, fmt.Errorf("%s: %w", what, ErrClosed)
	}
	n := 0
	for id, p := range m.points {
		if del(p) {
			delete(m.points, id)
			n++
		}
	}
	if n == 0 {
		m.mu.Unlock()
		return 0, nil
	}
	m.gen++
	gen := m.gen
	m.mu.Unlock()
	return n, m.save(what, gen)
}

// Count returns the number of points.
func (m *Memory) Count(ctx context.Context) (int, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return 0, fmt.Errorf("vectorstore: memory count: %w", ErrClosed)
	}
	return len(m.points), nil
}

// save makes sure the file holds generation gen of the points or a later one; m.mu must
// not be held. If another call's write already covered gen, it returns at once; else it
// writes a snapshot of the current points (taken under the read lock, written without it),
// which covers every change made so far.
func (m *Memory) save(what string, gen uint64) error {
	if m.path == "" {
		return nil
	}
	m.saveMu.Lock()
	defer m.saveMu.Unlock()
	if m.savedGen >= gen {
		return nil
	}
	m.mu.RLock()
	if m.closed {
		m.mu.RUnlock()
		return nil
	}
	dim, snap := m.dim, m.gen
	pts := make([]*point, 0, len(m.points))
	for _, p := range m.points {
		pts = append(pts, p)
	}
	m.mu.RUnlock()
	if err := writeFile(m.path, dim, pts); err != nil {
		return fmt.Errorf("%s: the change is in memory but not saved: %w", what, err)
	}
	m.savedGen = snap
	return nil
}

// clonePoint copies p's slices so the caller cannot reach stored data.
func clonePoint(p Point) Point {
	p.Vector = append([]float32(nil), p.Vector...)
	if p.Payload != nil {
		p.Payload = append([]byte(nil), p.Payload...)
	}
	return p
}
