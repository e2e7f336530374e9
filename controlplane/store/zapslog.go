package store

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newZapLogger returns a zap logger, for the etcd server and client, that
// writes entries at min or above to lg.
func newZapLogger(lg *slog.Logger, min zapcore.Level) *zap.Logger {
	return zap.New(&slogCore{h: lg.Handler(), min: min})
}

// slogCore is a zapcore.Core that hands entries to a slog.Handler, so etcd's
// logs go where the rest of the program's go.
type slogCore struct {
	h   slog.Handler
	min zapcore.Level
	// demote lists messages logged at debug whatever their level: warnings
	// etcd gives for choices made on purpose. Nil: none.
	demote map[string]bool
	// demoteEarly lists messages logged at debug until early ends:
	// transient errors of a fresh start that etcd retries by itself.
	demoteEarly map[string]bool
	early       time.Time
	// mute, when set and true, drops every entry (the errors etcd logs
	// while it shuts down). Nil: never.
	mute *atomic.Bool
}

var _ zapcore.Core = (*slogCore)(nil)

func (c *slogCore) Enabled(l zapcore.Level) bool { return l >= c.min }

func (c *slogCore) With(fields []zapcore.Field) zapcore.Core {
	d := *c
	d.h = c.h.WithAttrs(attrs(fields))
	return &d
}

func (c *slogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *slogCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	if c.mute != nil && c.mute.Load() {
		return nil
	}
	lvl := slogLevel(e.Level)
	if c.demote[e.Message] || (c.demoteEarly[e.Message] && e.Time.Before(c.early)) {
		lvl = slog.LevelDebug
	}
	if !c.h.Enabled(context.Background(), lvl) {
		return nil
	}
	r := slog.NewRecord(e.Time, lvl, e.Message, 0)
	if e.LoggerName != "" {
		r.AddAttrs(slog.String("logger", e.LoggerName))
	}
	r.AddAttrs(attrs(fields)...)
	return c.h.Handle(context.Background(), r)
}

func (c *slogCore) Sync() error { return nil }

func slogLevel(l zapcore.Level) slog.Level {
	switch {
	case l < zapcore.InfoLevel:
		return slog.LevelDebug
	case l == zapcore.InfoLevel:
		return slog.LevelInfo
	case l == zapcore.WarnLevel:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

// attrs converts zap fields to slog attributes through zap's own map
// encoder, so every field type renders as zap would render it.
func attrs(fields []zapcore.Field) []slog.Attr {
	if len(fields) == 0 {
		return nil
	}
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range fields {
		f.AddTo(enc)
	}
	out := make([]slog.Attr, 0, len(enc.Fields))
	for _, k := range slices.Sorted(maps.Keys(enc.Fields)) {
		out = append(out, slog.Any(k, enc.Fields[k]))
	}
	return out
}
