package pybridge

import (
	"context"
	"log/slog"

	"stockagent/native"
)

// Python's logging levels (10 DEBUG, 20 INFO, 30 WARNING, 40 ERROR, 50
// CRITICAL) are slog's (-4, 0, 4, 8) at 10 + 10*level/4; CRITICAL is Error.
func slogLevel(py int) slog.Level {
	return slog.Level(4 * (min(max(py/10, 1), 4) - 2))
}

// PythonLevel is the least Python logging level that l records, so Python
// drops below it what the host would drop anyway.
func PythonLevel(l *slog.Logger) int {
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn} {
		if l.Enabled(context.Background(), level) {
			return 10 + 10*int(level+4)/4
		}
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
