// Package trafficsplit is the "traffic_splitting" plugin: it sends a share
// of a location's requests to another upstream, for canary releases.
package trafficsplit

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/http"

	"github.com/pingap-go/pingap/dataplane/plugin"
	"github.com/pingap-go/pingap/dataplane/proxy"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Category is the plugin's category name.
const Category = "traffic_splitting"

// Cookie values saying which side a sticky client is on.
const (
	sideSplit = "1"
	sideMain  = "0"
)

// Register adds the plugin to r.
func Register(r *plugin.Registry) { r.Register(Category, New) }

// New builds the middleware.
func New(ctx plugin.BuildContext, _ string, cfg *pb.Plugin) (plugin.Middleware, error) {
	c := cfg.GetTrafficSplitting()
	if c.GetWeight() > 100 {
		return nil, fmt.Errorf("weight: %d is not a percentage", c.GetWeight())
	}
	if ctx.Upstream == nil {
		return nil, fmt.Errorf("upstream: no upstreams to choose from")
	}
	up := ctx.Upstream(c.GetUpstream())
	if up == nil {
		return nil, fmt.Errorf("upstream: unknown upstream %q", c.GetUpstream())
	}
	s := &splitter{route: proxy.NewRoute(up), weight: c.GetWeight(), cookie: c.GetStickyCookie(),
		header: http.CanonicalHeaderKey(c.GetStickyHeader())}
	if s.cookie != "" {
		for i, side := range [...]string{sideMain, sideSplit} {
			s.setCookie[i] = (&http.Cookie{Name: s.cookie, Value: side, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}).String()
		}
	}
	return s.middleware, nil
}

type splitter struct {
	route  *proxy.Route
	weight uint32
	cookie string
	header string
	// setCookie are the Set-Cookie values that keep a sticky client on the
	// main side (0) or the split side (1), built once.
	setCookie [2]string
}

func (s *splitter) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		split, cookie := s.split(r)
		if split {
			r = proxy.WithRoute(r, s.route)
		}
		if cookie != "" { // added to the upstream's answer, next to its own cookies
			w = plugin.OnHeaders(w, func(h http.Header) { h.Add("Set-Cookie", cookie) })
		}
		next.ServeHTTP(w, r)
	})
}

// split decides the request's side; cookie, when not empty, is the
// Set-Cookie value that makes a sticky client keep it.
func (s *splitter) split(r *http.Request) (split bool, cookie string) {
	if s.header != "" {
		if v := r.Header.Get(s.header); v != "" {
			h := fnv.New32a()
			_, _ = h.Write([]byte(v))
			return h.Sum32()%100 < s.weight, ""
		}
	}
	if s.cookie != "" {
		if ck, err := r.Cookie(s.cookie); err == nil && (ck.Value == sideSplit || ck.Value == sideMain) {
			return ck.Value == sideSplit, ""
		}
	}
	// Without sticky_cookie, setCookie holds "": no cookie to set.
	if rand.Uint32N(100) < s.weight {
		return true, s.setCookie[1]
	}
	return false, s.setCookie[0]
}
