package report

import (
	"io"
	"log/slog"
)

// NewLogger returns bulkpatch's logger on w: short "level=… msg=…" lines
// without a timestamp for people (cron and journald add their own), or
// with json one JSON object per line for machines. debug adds the debug
// events (each Graph attempt).
func NewLogger(w io.Writer, json, debug bool) *slog.Logger {
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	if json {
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
