// Package forwardauth is the "forward_auth" plugin: an external service
// decides, per request, whether it may pass.
package forwardauth

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Category is the plugin's category name.
const Category = "forward_auth"

// DefaultTimeout bounds the sub-request when the config sets no timeout.
const DefaultTimeout = 5 * time.Second

// maxAuthBody caps the body of a refusal relayed to the client.
const maxAuthBody = 64 << 10

// Register adds the plugin to r.
func Register(r *plugin.Registry) { r.Register(Category, New) }

// New builds the middleware and its HTTP client (one per plugin instance,
// with keep-alive to the service).
func New(ctx plugin.BuildContext, _ string, cfg *pb.Plugin) (plugin.Middleware, error) {
	c := cfg.GetForwardAuth()
	u, err := url.Parse(c.GetAddress())
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("address: %q is not an http(s) URL", c.GetAddress())
	}
	canon := func(field string, list []string) ([]string, error) {
		out := make([]string, 0, len(list))
		for i, h := range list {
			if !config.ValidHeaderName(h) {
				return nil, fmt.Errorf("%s[%d]: %q is not a header name", field, i, h)
			}
			out = append(out, http.CanonicalHeaderKey(h))
		}
		return out, nil
	}
	reqHeaders, err := canon("auth_request_headers", c.GetAuthRequestHeaders())
	if err != nil {
		return nil, err
	}
	respHeaders, err := canon("auth_response_headers", c.GetAuthResponseHeaders())
	if err != nil {
		return nil, err
	}
	timeout := c.GetTimeout().AsDuration()
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	client := &http.Client{
		Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second},
		// The service's redirects are answers for the client (a login page).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	ctx.Cleanup(client.CloseIdleConnections) // a replaced instance leaves no idle connections behind
	address := u.String()
	log := ctx.Log()
	refused, unavailable := ctx.Count("refused"), ctx.Count("unavailable")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sctx, cancel := context.WithTimeout(r.Context(), timeout)
			defer cancel()
			sub, _ := http.NewRequestWithContext(sctx, http.MethodGet, address, nil)
			if len(reqHeaders) == 0 {
				for k, vv := range r.Header {
					sub.Header[k] = vv
				}
			} else {
				for _, k := range reqHeaders {
					if vv, ok := r.Header[k]; ok {
						sub.Header[k] = vv
					}
				}
			}
			proto := "http"
			if r.TLS != nil {
				proto = "https"
			}
			sub.Header.Set("X-Forwarded-Method", r.Method)
			sub.Header.Set("X-Forwarded-Uri", r.URL.RequestURI())
			sub.Header.Set("X-Forwarded-Host", r.Host)
			sub.Header.Set("X-Forwarded-Proto", proto)
			resp, err := client.Do(sub)
			if err != nil {
				log.Warn("forward_auth service unavailable", "err", err)
				unavailable()
				plugin.Answer(w, http.StatusServiceUnavailable, "service unavailable")
				return
			}
			defer func() { _ = resp.Body.Close() }()
			if resp.StatusCode/100 == 2 {
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAuthBody))
				for _, k := range respHeaders {
					if vv, ok := resp.Header[k]; ok {
						r.Header[k] = vv
					} else {
						delete(r.Header, k) // the client may not forge what the service did not say
					}
				}
				next.ServeHTTP(w, r)
				return
			}
			refused()
			h := w.Header()
			for k, vv := range resp.Header {
				if k != "Content-Length" && k != "Transfer-Encoding" && k != "Connection" {
					h[k] = vv
				}
			}
			w.WriteHeader(resp.StatusCode)
			_, _ = io.Copy(w, io.LimitReader(resp.Body, maxAuthBody))
		})
	}, nil
}
