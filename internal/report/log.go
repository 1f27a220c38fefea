package report

import (
	"io"
	"log/slog"
)

// LogOptions say what bulkpatch's logger writes and how.
type LogOptions struct {
	// JSON writes one JSON object per line, for machines; otherwise short
	// "level=… msg=…" lines without a timestamp, for people (cron and
	// journald add their own).
	JSON bool
	// Debug adds the debug events (each Graph attempt).
	Debug bool
	// Quiet passes on warnings and errors only (--quiet); it wins over
	// Debug.
	Quiet bool
}

// NewLogger returns bulkpatch's logger on w.
func NewLogger(w io.Writer, o LogOptions) *slog.Logger {
	level := slog.LevelInfo
	switch {
	case o.Quiet:
		level = slog.LevelWarn
	case o.Debug:
		level = slog.LevelDebug
	}
	if o.JSON {
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{} // people read these live; cron adds its own time
			}
			return a
		}}))
}
