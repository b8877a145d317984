// Package logfile is the server's log file: an io.Writer that rotates by
// size, and a reader of the last lines that reads from the file's end.
package logfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// Defaults: 10 MiB per file and 3 old files keep a few days of request logs
// on a busy machine in 40 MiB.
const (
	DefaultMaxBytes = 10 << 20
	DefaultKeep     = 3
)

// Writer appends to a file and rotates it when it would grow past MaxBytes:
// name → name.1 → name.2 … up to Keep old files. It is safe for concurrent
// use; each Write lands whole in one file.
type Writer struct {
	path     string
	maxBytes int64
	keep     int

	mu   sync.Mutex // guards f and size
	f    *os.File
	size int64
}

// Open opens (or creates) path for appending. Zero maxBytes or keep take the defaults.
func Open(path string, maxBytes int64, keep int) (*Writer, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if keep <= 0 {
		keep = DefaultKeep
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("logfile: %w", err)
	}
	w := &Writer{path: path, maxBytes: maxBytes, keep: keep}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Writer) open() error {
	f, err := os.OpenFile(w.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("logfile: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("logfile: %w", err)
	}
	w.f, w.size = f, st.Size()
	return nil
}

// Path is the file being written.
func (w *Writer) Path() string { return w.path }

func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return 0, errors.New("logfile: closed")
	}
	if w.size > 0 && w.size+int64(len(p)) > w.maxBytes {
		if err := w.rotateLocked(); err != nil {
			return 0, err
		}
	}
	n, err := w.f.Write(p)
	w.size += int64(n)
	return n, err
}

// rotateLocked shifts the old files up by one and starts a new file; w.mu must be held.
func (w *Writer) rotateLocked() error {
	w.f.Close()
	for i := w.keep - 1; i >= 1; i-- {
		// Best effort: fewer old files than keep is normal, and an old file that cannot move is
		// overwritten by the next shift; the log goes on either way.
		_ = os.Rename(fmt.Sprintf("%s.%d", w.path, i), fmt.Sprintf("%s.%d", w.path, i+1))
	}
	if err := os.Rename(w.path, w.path+".1"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("logfile: rotate: %w", err)
	}
	return w.open()
}

// Close closes the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// Tail returns the last n lines of the file at path, reading backwards from
// its end in blocks, so a large file costs what the lines cost.
func Tail(path string, n int) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	const block = 32 << 10
	end := st.Size()
	var buf []byte
	for pos := end; pos > 0 && bytes.Count(buf, []byte("\n")) <= n; {
		step := min(int64(block), pos)
		pos -= step
		chunk := make([]byte, step)
		if _, err := f.ReadAt(chunk, pos); err != nil && err != io.EOF {
			return "", err
		}
		buf = append(chunk, buf...)
	}
	lines := bytes.Split(bytes.TrimRight(buf, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if len(lines) == 1 && len(lines[0]) == 0 {
		return "", nil
	}
	return string(bytes.Join(lines, []byte("\n"))) + "\n", nil
}
