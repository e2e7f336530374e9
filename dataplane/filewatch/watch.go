// Package filewatch reports changes to one config file. It watches the
// file's directory rather than the file, so editors that save by renaming a
// temporary file and Kubernetes ConfigMap volumes (a "..data" symlink swap)
// are seen too.
package filewatch

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultDebounce is how long Watch waits after the last event before it
// reports, so a save that writes in several steps is one change.
const DefaultDebounce = 150 * time.Millisecond

// Watch calls onChange after path changes, until ctx is done. Events within
// debounce of each other are coalesced. It returns once the watch is set up;
// errors after that are logged.
func Watch(ctx context.Context, path string, debounce time.Duration, logger *slog.Logger, onChange func()) error {
	if debounce <= 0 {
		debounce = DefaultDebounce
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("filewatch: %w", err)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("filewatch: %w", err)
	}
	dir, base := filepath.Dir(abs), filepath.Base(abs)
	if err := w.Add(dir); err != nil {
		_ = w.Close()
		return fmt.Errorf("filewatch: watch %s: %w", dir, err)
	}
	go loop(ctx, w, base, debounce, logger, onChange)
	return nil
}

func loop(ctx context.Context, w *fsnotify.Watcher, base string, debounce time.Duration, logger *slog.Logger, onChange func()) {
	defer func() { _ = w.Close() }()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			name := filepath.Base(ev.Name)
			if name != base && name != "..data" {
				continue
			}
			if ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename|fsnotify.Remove) == 0 {
				continue
			}
			timer.Reset(debounce)
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			logger.Warn("config watch error", "err", err)
		case <-timer.C:
			onChange()
		}
	}
}
