// Package mock is the "mock" plugin: it answers requests itself with a
// fixed status, headers and body, after an optional delay — for stubs,
// maintenance pages and tests.
package mock

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Category is the plugin's category name.
const Category = "mock"

// Register adds the plugin to r.
func Register(r *plugin.Registry) { r.Register(Category, New) }

// New builds the middleware from the plugin's options, all parsed here once.
func New(_ plugin.BuildContext, _ string, cfg *pb.Plugin) (plugin.Middleware, error) {
	m := cfg.GetMock()
	status := int(m.GetStatus())
	if status == 0 {
		status = http.StatusOK
	}
	if status < 100 || status > 599 {
		return nil, fmt.Errorf("status: %d is not an HTTP status", status)
	}
	header := http.Header{}
	for i, s := range m.GetHeaders() {
		h, err := config.ParseHeader(s)
		if err != nil {
			return nil, fmt.Errorf("headers[%d]: %w", i, err)
		}
		header.Add(h.Name, h.Value)
	}
	body := []byte(m.GetData())
	header["Content-Length"] = []string{strconv.Itoa(len(body))}
	path, delay := m.GetPath(), m.GetDelay().AsDuration()
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if path != "" && r.URL.Path != path {
				next.ServeHTTP(w, r)
				return
			}
			if !plugin.Wait(r, delay) {
				return
			}
			h := w.Header()
			for k, vv := range header {
				h[k] = vv
			}
			w.WriteHeader(status)
			if r.Method != http.MethodHead {
				_, _ = w.Write(body)
			}
		})
	}, nil
}
