package vectorstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"stockagent/server/vectorstore"
)

func openMemory(t *testing.T, dir string, d int, opts ...vectorstore.Option) *vectorstore.Memory {
	t.Helper()
	m, err := vectorstore.NewMemory(dir, d, opts...)
	if err != nil {
		t.Fatalf("NewMemory(%s, %d): %v", dir, d, err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func TestMemoryPersistence(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	now := time.Now()
	m := openMemory(t, dir, 0)
	keep := point("AAPL", at(0.99, 2), now.Add(-time.Minute), "keep")
	mustUpsert(t, m,
		point("AAPL", axis0(), now.Add(-3*time.Hour), "expired"),
		keep,
		point("MSFT", axis0(), now, "msft"),
	)
	if n, err := m.DeleteBefore(ctx, now.Add(-time.Hour)); err != nil || n != 1 {
		t.Fatalf("DeleteBefore = %d, %v; want 1", n, err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	t.Run("reopened with the dimension learnt", func(t *testing.T) {
		m := openMemory(t, dir, 0)
		mustCount(t, m, 2)
		h, ok := mustSearch(t, m, "AAPL", axis0(), time.Time{}, 0.95)
		wantHit(t, h, ok, "keep", 0.99)
		if h.ID != keep.ID || !h.CreatedAt.Equal(keep.CreatedAt.Truncate(time.Millisecond)) || string(h.Payload) != string(keep.Payload) {
			t.Fatalf("reloaded %+v; want %+v", h.Point, keep)
		}
		var de *vectorstore.DimensionError
		if err := m.Upsert(ctx, point("AAPL", make4(), now, "4d")); !errors.As(err, &de) || de.Want != dim {
			t.Fatalf("Upsert(4-d) into a reloaded %d-d store = %v; want a DimensionError", dim, err)
		}
	})
	t.Run("reopened with the same dimension", func(t *testing.T) {
		mustCount(t, openMemory(t, dir, dim), 2)
	})
	t.Run("reopened with another dimension", func(t *testing.T) {
		before, _ := os.ReadFile(filepath.Join(dir, vectorstore.FileName))
		_, err := vectorstore.NewMemory(dir, 384)
		var de *vectorstore.DimensionError
		if !errors.As(err, &de) || de.Want != dim || de.Got != 384 {
			t.Fatalf("NewMemory(384) on a %d-d file = %v; want a DimensionError", dim, err)
		}
		if !strings.Contains(err.Error(), vectorstore.FileName) {
			t.Errorf("error %q does not name the file", err)
		}
		after, _ := os.ReadFile(filepath.Join(dir, vectorstore.FileName))
		if !bytes.Equal(before, after) {
			t.Error("a refused open changed the file")
		}
	})
	t.Run("Clear persists", func(t *testing.T) {
		m := openMemory(t, dir, 0)
		if n, err := m.Clear(ctx); err != nil || n != 2 {
			t.Fatalf("Clear = %d, %v; want 2", n, err)
		}
		_ = m.Close()
		mustCount(t, openMemory(t, dir, 0), 0)
	})
}

// TestMemoryFile checks the file itself: readable JSON, written atomically (no temporary
// files left), one point per report.
func TestMemoryFile(t *testing.T) {
	dir := t.TempDir()
	m := openMemory(t, dir, dim)
	p := point("AAPL", axis0(), time.Now(), "readable")
	mustUpsert(t, m, p, point("MSFT", axis0(), time.Now(), "second"))
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != vectorstore.FileName {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("data folder holds %v; want only %s", names, vectorstore.FileName)
	}
	b, err := os.ReadFile(filepath.Join(dir, vectorstore.FileName))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Version int
		Dim     int
		Points  []struct {
			ID      string
			Ticker  string
			Payload json.RawMessage
		}
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("file is not JSON: %v\n%s", err, b)
	}
	if f.Version != 1 || f.Dim != dim || len(f.Points) != 2 {
		t.Fatalf("file has version %d, dim %d, %d points; want 1, %d, 2", f.Version, f.Dim, len(f.Points), dim)
	}
	found := false
	for _, fp := range f.Points {
		if fp.ID == p.ID && fp.Ticker == "AAPL" && string(fp.Payload) == string(p.Payload) {
			found = true
		}
	}
	if !found {
		t.Fatalf("file lacks point %s with payload %s:\n%s", p.ID, p.Payload, b)
	}
}

func TestMemoryCorruptFile(t *testing.T) {
	// valid is a file as Memory writes it, to be broken in different ways.
	validDir := t.TempDir()
	m := openMemory(t, validDir, 0)
	mustUpsert(t, m, point("AAPL", axis0(), time.Now(), "p"))
	_ = m.Close()
	valid, err := os.ReadFile(filepath.Join(validDir, vectorstore.FileName))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"not JSON":            "this is not JSON",
		"empty":               "",
		"truncated":           string(valid[:len(valid)/2]),
		"other version":       strings.Replace(string(valid), `"version":1`, `"version":2`, 1),
		"bad vector":          strings.Replace(string(valid), `"vector":"`, `"vector":"!!`, 1),
		"vector of other dim": strings.Replace(string(valid), `"dim":8`, `"dim":9`, 1),
		"bad ID":              strings.Replace(string(valid), `"id":"`, `"id":"x`, 1),
		"points without dim":  `{"version":1,"dim":0,"points":[{"id":"00000000-0000-4000-8000-000000000000","ticker":"A","created_at":"2025-01-01T00:00:00Z","vector":"AACAPw=="}]}`,
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, vectorstore.FileName)
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			var log bytes.Buffer
			m := openMemory(t, dir, dim, vectorstore.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
			mustCount(t, m, 0)
			if !strings.Contains(log.String(), "level=WARN") || !strings.Contains(log.String(), "moved aside") {
				t.Errorf("log = %q; want a warning that the file was moved aside", log.String())
			}
			aside, _ := filepath.Glob(path + ".corrupt-*")
			if len(aside) != 1 {
				t.Fatalf("files moved aside: %v; want one", aside)
			}
			if b, _ := os.ReadFile(aside[0]); string(b) != content {
				t.Errorf("moved-aside file holds %q; want the original %q", b, content)
			}
			// The store works, and writes a good file again.
			mustUpsert(t, m, point("AAPL", axis0(), time.Now(), "after"))
			_ = m.Close()
			h, ok := mustSearch(t, openMemory(t, dir, dim), "AAPL", axis0(), time.Time{}, 0.95)
			wantHit(t, h, ok, "after", 1)
		})
	}
}

func TestMemoryWithoutDataDir(t *testing.T) {
	wd, _ := os.Getwd()
	before, _ := os.ReadDir(wd)
	s, err := vectorstore.Open("", "", dim)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustUpsert(t, s, point("AAPL", axis0(), time.Now(), "p"))
	mustCount(t, s, 1)
	if after, _ := os.ReadDir(wd); len(after) != len(before) {
		t.Fatalf("a store without a data folder wrote a file in %s", wd)
	}
}

// TestMemoryConcurrentPersist checks that concurrent upserts, whose writes may be shared,
// all reach the file.
func TestMemoryConcurrentPersist(t *testing.T) {
	dir := t.TempDir()
	m := openMemory(t, dir, dim)
	const workers, each = 8, 10
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if err := m.Upsert(context.Background(), point("T", at(0.9, 1+(w+i)%(dim-1)), time.Now(), "p")); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	_ = m.Close()
	mustCount(t, openMemory(t, dir, dim), workers*each)
}

// A file written before reports had a scope loads without its unscoped points, which could
// never answer a search; the scoped ones stay.
func TestMemoryDropsUnscopedPoints(t *testing.T) {
	dir := t.TempDir()
	m := openMemory(t, dir, dim)
	mustUpsert(t, m, point("AAPL", axis0(), time.Now(), "scoped"))
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, vectorstore.FileName)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]any
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	scoped := f["points"].([]any)[0].(map[string]any)
	old := map[string]any{}
	for k, v := range scoped {
		old[k] = v
	}
	old["id"], old["payload"] = vectorstore.NewID(), map[string]any{"name": "unscoped"}
	delete(old, "model_version")
	delete(old, "data_as_of")
	f["points"] = []any{old, scoped}
	if b, err = json.Marshal(f); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}

	m = openMemory(t, dir, dim)
	mustCount(t, m, 1)
	h, ok := mustSearch(t, m, "AAPL", axis0(), time.Time{}, 0.95)
	wantHit(t, h, ok, "scoped", 1)
}
