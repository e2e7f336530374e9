package dataplane

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/pingap-go/pingap/internal/telemetry"
)

// adminListener serves the status endpoints on settings.admin_addr.
type adminListener struct {
	addr string
	ln   net.Listener
	srv  *http.Server
}

// prepareAdmin binds addr when it differs from the running admin listener.
// It returns nil when nothing is to change.
func (d *DataPlane) prepareAdmin(addr string) (*adminListener, error) {
	if d.admin != nil && d.admin.addr == addr {
		return nil, nil
	}
	if addr == "" {
		return &adminListener{}, nil // means: close the running one
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &adminListener{addr: addr, ln: ln, srv: &http.Server{
		Handler:           d.AdminHandler(),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       60 * time.Second,
	}}, nil
}

// swapAdmin starts next (from prepareAdmin) and stops the running one.
func (d *DataPlane) swapAdmin(next *adminListener) {
	if next == nil {
		return
	}
	if old := d.admin; old != nil {
		_ = old.srv.Close()
	}
	d.admin = nil
	if next.ln == nil {
		return
	}
	d.admin = next
	go func() {
		if err := next.srv.Serve(next.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("status listener stopped", "addr", next.addr, "err", err)
		}
	}()
}

// AdminAddr is the bound address of the status listener, empty if none.
func (d *DataPlane) AdminAddr() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.admin == nil {
		return ""
	}
	return d.admin.ln.Addr().String()
}

// AdminHandler serves /healthz (the process is up), /readyz (a config is
// serving), /status (JSON, see Status), /metrics (Prometheus) and, with
// Options.Pprof, /debug/pprof/.
func (d *DataPlane) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if d.current.Load() == nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("no config\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(d.Status())
	})
	telemetry.HandleMetrics(mux, d.opts.Registry, d.log, d.opts.Pprof)
	return mux
}
