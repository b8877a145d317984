package pybridge

import (
	"log/slog"
	"testing"
)

func TestLogLevelsMapBothWays(t *testing.T) {
	for py, want := range map[int]slog.Level{0: slog.LevelDebug, 10: slog.LevelDebug, 15: slog.LevelDebug,
		20: slog.LevelInfo, 25: slog.LevelInfo, 30: slog.LevelWarn, 40: slog.LevelError, 50: slog.LevelError} {
		if got := slogLevel(py); got != want {
			t.Errorf("Python level %d: slog %v, want %v", py, got, want)
		}
	}
	for level, want := range map[slog.Level]int{slog.LevelDebug: 10, slog.LevelInfo: 20, slog.LevelWarn: 30, slog.LevelError: 40} {
		l := slog.New(slog.NewTextHandler(nil, &slog.HandlerOptions{Level: level}))
		if got := PythonLevel(l); got != want {
			t.Errorf("a logger at %v: Python level %d, want %d", level, got, want)
		}
	}
}
