// Package stats is the "stats" plugin: it answers one path with the data
// plane's statistics as JSON, as Pingap's stats plugin does.
package stats

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"

	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
	"github.com/pingap-go/pingap/internal/version"
)

// Category is the plugin's category name.
const Category = "stats"

// Register adds the plugin to r.
func Register(r *plugin.Registry) { r.Register(Category, New) }

// Document is the JSON answer.
type Document struct {
	// Hostname is the machine's name.
	Hostname string `json:"hostname"`
	// PID is the process id.
	PID int `json:"pid"`
	// Version is Pingap-Go's version; GoVersion the Go release it was built
	// with.
	Version   string `json:"version"`
	GoVersion string `json:"go_version"`
	// CPUs is the number of usable CPUs, Goroutines the number running.
	CPUs       int `json:"cpus"`
	Goroutines int `json:"goroutines"`
	// Memory is the Go heap in use and the memory taken from the OS.
	Memory Memory `json:"memory"`
	// Dataplane is the data plane's status: config, uptime counters,
	// requests, in-flight requests, listeners and upstream health.
	Dataplane any `json:"dataplane,omitempty"`
	// Time is when the document was made.
	Time time.Time `json:"time"`
}

// Memory is a summary of the Go runtime's memory statistics.
type Memory struct {
	HeapAllocBytes uint64 `json:"heap_alloc_bytes"`
	SysBytes       uint64 `json:"sys_bytes"`
	NumGC          uint32 `json:"num_gc"`
}

// New builds the middleware.
func New(ctx plugin.BuildContext, _ string, cfg *pb.Plugin) (plugin.Middleware, error) {
	path := cfg.GetStats().GetPath()
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("path: %q must start with \"/\"", path)
	}
	host, _ := os.Hostname()
	now, stats := ctx.Clock(), ctx.Stats
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != path || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
				next.ServeHTTP(w, r)
				return
			}
			var ms goruntime.MemStats
			goruntime.ReadMemStats(&ms)
			doc := Document{
				Hostname: host, PID: os.Getpid(), Version: version.Version, GoVersion: goruntime.Version(),
				CPUs: goruntime.GOMAXPROCS(0), Goroutines: goruntime.NumGoroutine(),
				Memory: Memory{HeapAllocBytes: ms.HeapAlloc, SysBytes: ms.Sys, NumGC: ms.NumGC},
				Time:   now().UTC(),
			}
			if stats != nil {
				doc.Dataplane = stats()
			}
			body, err := json.MarshalIndent(doc, "", "  ")
			if err != nil {
				plugin.Answer(w, http.StatusInternalServerError, "statistics unavailable")
				return
			}
			body = append(body, '\n')
			h := w.Header()
			h["Content-Type"] = []string{"application/json"}
			h["Cache-Control"] = []string{"no-store"}
			h["Content-Length"] = []string{strconv.Itoa(len(body))}
			w.WriteHeader(http.StatusOK)
			if r.Method != http.MethodHead {
				_, _ = w.Write(body)
			}
		})
	}, nil
}
