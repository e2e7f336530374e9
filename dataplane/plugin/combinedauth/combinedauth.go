// Package combinedauth is the "combined_auth" plugin, Pingap's signed
// request authentication for machine-to-machine calls: the caller sends the
// query parameters app_id, ts (Unix seconds) and digest, the hex SHA-256 of
// "<secret>:<ts>". A request passes when the app is known, ts is within the
// app's deviation of the proxy's clock, the digest matches and, when the app
// has an ip_list, the client address is on it.
package combinedauth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/plugin"
	"github.com/pingap-go/pingap/dataplane/rawquery"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Category is the plugin's category name.
const Category = "combined_auth"

// The query parameters a caller signs a request with.
const (
	ParamAppID  = "app_id"
	ParamTS     = "ts"
	ParamDigest = "digest"
)

// Register adds the plugin to r.
func Register(r *plugin.Registry) { r.Register(Category, New) }

// app is one compiled authorization.
type app struct {
	secret []byte
	// deviation is the allowed |now - ts|, in seconds.
	deviation int64
	// from are the addresses the app may call from; empty means any.
	from config.IPList
}

// allows reports whether ip may use the app.
func (a *app) allows(ip netip.Addr) bool {
	return len(a.from) == 0 || a.from.Contains(ip)
}

// New builds the middleware. Apps, secrets and address lists are compiled
// once here. Every request costs the same work whatever fails: an unknown
// app_id is checked against a random dummy secret, the digest is compared
// in constant time, and every check runs before the verdict.
func New(ctx plugin.BuildContext, _ string, cfg *pb.Plugin) (plugin.Middleware, error) {
	c := cfg.GetCombinedAuth()
	apps, err := compile(c.GetAuthorizations())
	if err != nil {
		return nil, err
	}
	dummy := &app{secret: make([]byte, 32)}
	if _, err := rand.Read(dummy.secret); err != nil {
		return nil, fmt.Errorf("dummy secret: %w", err)
	}
	clientIP := ctx.ClientAddr()
	now := ctx.Clock()
	hide := c.GetHideCredentials()
	refused := ctx.Count("refused")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.RawQuery
			appID, _ := rawquery.Get(q, ParamAppID)
			ts, _ := rawquery.Get(q, ParamTS)
			digest, _ := rawquery.Get(q, ParamDigest)
			a, known := apps[appID]
			if !known {
				a = dummy
			}
			ok := check(a, ts, digest, now()) && a.allows(clientIP(r))
			if !ok || !known {
				refused()
				plugin.Answer(w, http.StatusUnauthorized, "unauthorized")
				return
			}
			if hide {
				r = withoutCredentials(r)
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

// compile checks and indexes the authorizations by app_id.
func compile(list []*pb.CombinedAuthApp) (map[string]*app, error) {
	if len(list) == 0 {
		return nil, fmt.Errorf("authorizations: required")
	}
	apps := make(map[string]*app, len(list))
	for i, a := range list {
		field := "authorizations[" + strconv.Itoa(i) + "]"
		switch {
		case a.GetAppId() == "":
			return nil, fmt.Errorf("%s.app_id: required", field)
		case apps[a.GetAppId()] != nil:
			return nil, fmt.Errorf("%s.app_id: %q listed twice", field, a.GetAppId())
		case a.GetSecret() == "":
			return nil, fmt.Errorf("%s.secret: required", field)
		case a.GetDeviation() == 0:
			return nil, fmt.Errorf("%s.deviation: required, greater than 0", field)
		}
		compiled := &app{secret: []byte(a.GetSecret()), deviation: int64(a.GetDeviation())}
		from, err := config.ParseIPList(a.GetIpList())
		if err != nil {
			return nil, fmt.Errorf("%s.ip_list%w", field, err)
		}
		compiled.from = from
		apps[a.GetAppId()] = compiled
	}
	return apps, nil
}

// check verifies ts and digest against a: the digest is always computed and
// compared, so a bad ts costs the same as a bad digest.
func check(a *app, ts, digest string, now time.Time) bool {
	h := sha256.New()
	h.Write(a.secret)
	h.Write([]byte{':'})
	h.Write([]byte(ts))
	want := h.Sum(nil)
	got, err := hex.DecodeString(digest)
	if err != nil {
		got = nil
	}
	digestOK := subtle.ConstantTimeCompare(got, want) == 1
	sec, err := strconv.ParseInt(ts, 10, 64)
	// Compared as a window around now, so an extreme ts cannot overflow.
	n := now.Unix()
	inTime := err == nil && sec >= n-a.deviation && sec <= n+a.deviation
	return digestOK && inTime
}

// withoutCredentials returns a shallow copy of r whose query no longer has
// app_id, ts and digest; the other parameters keep their order and their
// encoding.
func withoutCredentials(r *http.Request) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.RawQuery = rawquery.Remove(u.RawQuery, ParamAppID, ParamTS, ParamDigest)
	r2.URL = &u
	return r2
}
