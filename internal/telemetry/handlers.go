package telemetry

import (
	"log/slog"
	"net/http"
	"net/http/pprof"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// HandleMetrics serves reg at /metrics on mux (text, OpenMetrics or
// protobuf, as the scraper asks; a collector that fails leaves its series
// out rather than failing the scrape) and, with withPprof, net/http/pprof's
// profiles under /debug/pprof/. The data plane's status port and the
// control plane's metrics listener both use it.
func HandleMetrics(mux *http.ServeMux, reg *prometheus.Registry, log *slog.Logger, withPprof bool) {
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	}))
	if withPprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
}
