package pybridge

import (
	"context"
	"log/slog"

	"stockagent/native"
)

// Python's logging levels (10 DEBUG … 50 CRITICAL) mapped to slog's.
func slogLevel(py int) slog.Level {
	switch {
	case py >= 40:
		return slog.LevelError
	case py >= 30:
		return slog.LevelWarn
	case py >= 20:
		return slog.LevelInfo
	}
	return slog.LevelDebug
}

// PythonLevel is the least Python logging level that l records, so Python
// drops below it what the host would drop anyway.
func PythonLevel(l *slog.Logger) int {
	ctx := context.Background()
	switch {
	case l.Enabled(ctx, slog.LevelDebug):
		return 10
	case l.Enabled(ctx, slog.LevelInfo):
		return 20
	case l.Enabled(ctx, slog.LevelWarn):
		return 30
	}
	return 40
}

// logSink writes each Python record as one slog record, so Python's output
// and Go's never interleave within a line.
func logSink(l *slog.Logger) native.LogSink {
	return func(level int, name, msg string) {
		l.Log(context.Background(), slogLevel(level), msg, "source", "python", "logger", name)
	}
}
