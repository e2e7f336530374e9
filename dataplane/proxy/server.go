package proxy

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/router"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Server is a compiled server: the router over its locations. It is the
// http.Handler of the server's listeners for one config version.
type Server struct {
	name            string
	router          *router.Router[*Location]
	maxHeaderCount  int
	readBodyTimeout time.Duration
}

// DefaultMaxHeaderCount is the most request header fields accepted when a
// server sets no max_header_count.
const DefaultMaxHeaderCount = config.DefaultMaxHeaderCount

// NewServer compiles a server's routing table from its locations.
// locations maps every location name of the snapshot to its compiled form.
func NewServer(name string, cfg *pb.Server, locations map[string]*Location, snapshotLocations map[string]*pb.Location) (*Server, error) {
	entries := make([]router.Entry[*Location], 0, len(cfg.GetLocations()))
	for i, ln := range cfg.GetLocations() {
		loc, ok := locations[ln]
		lc := snapshotLocations[ln]
		if !ok || lc == nil {
			return nil, fmt.Errorf("servers.%s.locations[%d]: unknown location %q", name, i, ln)
		}
		entries = append(entries, router.Entry[*Location]{
			Name: ln, Host: lc.GetHost(), Path: lc.GetPath(), Weight: lc.Weight, Value: loc,
		})
	}
	rt, err := router.New(entries)
	if err != nil {
		return nil, fmt.Errorf("servers.%s: %w", name, err)
	}
	s := &Server{name: name, router: rt, maxHeaderCount: DefaultMaxHeaderCount,
		readBodyTimeout: cfg.GetReadBodyTimeout().AsDuration()}
	if n := cfg.GetMaxHeaderCount(); n > 0 {
		s.maxHeaderCount = int(n)
	}
	return s, nil
}

// Name is the server's name.
func (s *Server) Name() string { return s.name }

// MaxHeaderCount is the most request header fields the server accepts:
// max_header_count, else DefaultMaxHeaderCount.
func (s *Server) MaxHeaderCount() int { return s.maxHeaderCount }

// ServeHTTP routes the request to its location.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if n := headerCount(r.Header); n > s.maxHeaderCount {
		w.Header().Set("Connection", "close")
		WriteError(w, r, http.StatusRequestHeaderFieldsTooLarge)
		return
	}
	if s.readBodyTimeout > 0 && r.Body != nil && r.Body != http.NoBody {
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.readBodyTimeout))
	}
	if p := r.URL.Path; needsClean(p) {
		r.URL.Path = cleanPath(p)
		r.URL.RawPath = ""
	}
	loc, ok := s.router.Match(r.Host, r.URL.Path)
	if !ok {
		WriteError(w, r, http.StatusNotFound)
		return
	}
	loc.ServeHTTP(w, r)
}

// headerCount counts header fields (each value of a repeated name counts).
func headerCount(h http.Header) int {
	n := 0
	for _, vv := range h {
		n += len(vv)
	}
	return n
}

// needsClean reports whether p has empty, "." or ".." segments or does not
// start with a slash.
func needsClean(p string) bool {
	if p == "" || p[0] != '/' {
		return true
	}
	return strings.Contains(p, "//") || strings.Contains(p, "/./") || strings.Contains(p, "/../") ||
		strings.HasSuffix(p, "/.") || strings.HasSuffix(p, "/..")
}

// cleanPath resolves dot segments and merges slashes, as nginx does before
// it matches locations, so "/public/../admin" cannot slip past a rule for
// "/admin". A trailing slash is kept.
func cleanPath(p string) string {
	segs := strings.Split(p, "/")
	out := make([]string, 0, len(segs))
	for _, s := range segs {
		switch s {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, s)
		}
	}
	c := "/" + strings.Join(out, "/")
	last := segs[len(segs)-1]
	if c != "/" && (last == "" || last == "." || last == "..") {
		c += "/"
	}
	return c
}

// Routes describes the compiled routing table (for golden tests and
// debugging).
func (s *Server) Routes() string { return s.router.String() }
