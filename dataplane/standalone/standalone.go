// Package standalone runs a data plane from a config file: it applies the
// file at start, reloads it when it changes or on demand (SIGHUP), and
// drains on shutdown.
package standalone

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane"
	"github.com/pingap-go/pingap/dataplane/filewatch"
	"github.com/pingap-go/pingap/dataplane/plugin"
)

// Options configure Run.
type Options struct {
	// Path is the TOML or JSON config file.
	Path string
	// Logger receives all logs; nil discards.
	Logger *slog.Logger
	// Level, when set, follows settings.log_level of the configs applied.
	Level *slog.LevelVar
	// Plugins resolves plugin categories.
	Plugins *plugin.Registry
	// Registry receives the data plane's metrics (nil: one of its own).
	Registry *prometheus.Registry
	// Pprof serves profiles on the status port.
	Pprof bool
	// Reload triggers a reload (the caller maps SIGHUP to it).
	Reload <-chan struct{}
	// Ready, when set, is called with the data plane once the first config
	// serves.
	Ready func(*dataplane.DataPlane)
}

// Run serves opts.Path until ctx is done, then drains in-flight requests for
// the config's grace period and returns nil. An unusable config at start is
// returned as an error.
func Run(ctx context.Context, opts Options) error {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dp := dataplane.New(dataplane.Options{Logger: log, Plugins: opts.Plugins, Registry: opts.Registry, Pprof: opts.Pprof,
		Level: opts.Level})
	snap, src, err := config.Load(opts.Path)
	if err != nil {
		return err
	}
	if err := dp.Apply(snap); err != nil {
		_ = dp.Shutdown(context.Background())
		return fmt.Errorf("config %s: %w", opts.Path, src.Annotate(err))
	}
	log.Info("data plane serving", "config", opts.Path, "listeners", dp.Addrs(), "status", dp.AdminAddr())
	if opts.Ready != nil {
		opts.Ready(dp)
	}

	changes := make(chan struct{}, 1)
	notify := func() {
		select {
		case changes <- struct{}{}:
		default:
		}
	}
	if err := filewatch.Watch(ctx, opts.Path, 0, log, notify); err != nil {
		log.Warn("config file not watched; reload with SIGHUP", "err", err)
	}
	for {
		select {
		case <-ctx.Done():
			return shutdown(dp, log)
		case <-opts.Reload:
			log.Info("reload requested")
			reload(dp, opts, log)
		case <-changes:
			log.Info("config file changed", "path", opts.Path)
			reload(dp, opts, log)
		}
	}
}

func reload(dp *dataplane.DataPlane, opts Options, log *slog.Logger) {
	snap, src, err := config.Load(opts.Path)
	if err == nil {
		if cur := dp.Current(); cur != nil && cur.Hash() == config.Hash(snap) {
			log.Info("config unchanged", "hash", cur.Hash())
			return
		}
		err = src.Annotate(dp.Apply(snap))
	} else {
		dp.RecordFailure(err)
	}
	if err != nil {
		log.Error("config rejected, still serving the previous one", "path", opts.Path, "err", err)
		return
	}
}

func shutdown(dp *dataplane.DataPlane, log *slog.Logger) error {
	log.Info("shutting down")
	start := time.Now()
	if err := dp.Drain(); err != nil {
		log.Warn("shutdown cut in-flight requests short", "err", err)
	}
	log.Info("stopped", "took", time.Since(start).Round(time.Millisecond))
	return nil
}
