package report

import (
	"context"
	"io"
	"log/slog"
	"testing"
)

func TestNewLoggerLevels(t *testing.T) {
	tests := []struct {
		o    LogOptions
		want slog.Level // the lowest level written
	}{
		{LogOptions{}, slog.LevelInfo},
		{LogOptions{JSON: true}, slog.LevelInfo},
		{LogOptions{Debug: true}, slog.LevelDebug},
		{LogOptions{Quiet: true}, slog.LevelWarn},
		{LogOptions{Quiet: true, Debug: true, JSON: true}, slog.LevelWarn},
	}
	for _, tt := range tests {
		l := NewLogger(io.Discard, tt.o)
		for _, lv := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
			if got, want := l.Enabled(context.Background(), lv), lv >= tt.want; got != want {
				t.Errorf("%+v: Enabled(%v) = %v, want %v", tt.o, lv, got, want)
			}
		}
	}
}
