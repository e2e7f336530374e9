// Package csrf is the "csrf" plugin: it protects state-changing requests
// with the double-submit pattern. A GET of token_path answers 204 with a
// signed, expiring token, set as a cookie and sent in a header; every
// request with another method than GET, HEAD, OPTIONS and TRACE must carry
// the cookie and the same token in the header named like it. A cross-site
// page can make a browser send the cookie, but cannot read it to set the
// header.
//
// A token is "<id>.<expiry>.<signature>": id is 16 random bytes and the
// signature the HMAC-SHA256 of "<id>.<expiry>" under key, both base64url
// without padding, and expiry in Unix seconds.
package csrf

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Category is the plugin's category name.
const Category = "csrf"

// DefaultName is the cookie and header name when none is configured.
const DefaultName = "x-csrf-token"

// DefaultTTL is a token's lifetime when none is configured.
const DefaultTTL = time.Hour

// MinKeyLen is the shortest key accepted, in bytes.
const MinKeyLen = config.CSRFMinKeyLen

// idLen is the number of random bytes of a token's id.
const idLen = 16

// Register adds the plugin to r.
func Register(r *plugin.Registry) { r.Register(Category, New) }

// signer issues and verifies tokens.
type signer struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

// New builds the middleware; the options are checked and compiled here.
func New(ctx plugin.BuildContext, _ string, cfg *pb.Plugin) (plugin.Middleware, error) {
	c := cfg.GetCsrf()
	tokenPath := c.GetTokenPath()
	if tokenPath == "" || !strings.HasPrefix(tokenPath, "/") {
		return nil, fmt.Errorf("token_path: %q is not a path starting with \"/\"", tokenPath)
	}
	if len(c.GetKey()) < MinKeyLen {
		return nil, fmt.Errorf("key: required, at least %d bytes", MinKeyLen)
	}
	name := c.GetName()
	if name == "" {
		name = DefaultName
	}
	if !config.ValidHeaderName(name) {
		return nil, fmt.Errorf("name: %q is not a header and cookie name", name)
	}
	ttl := c.GetTtl().AsDuration()
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < time.Second {
		return nil, fmt.Errorf("ttl: %s is less than 1s", ttl)
	}
	s := &signer{key: []byte(c.GetKey()), ttl: ttl, now: ctx.Clock()}
	header := http.CanonicalHeaderKey(name)
	refused := ctx.Count("refused")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.Method {
			case http.MethodGet, http.MethodHead:
				if r.URL.Path == tokenPath {
					s.issue(w, r, name, header)
					return
				}
				next.ServeHTTP(w, r)
				return
			case http.MethodOptions, http.MethodTrace:
				next.ServeHTTP(w, r)
				return
			}
			if !s.submitted(r, name, header) {
				refused()
				plugin.Answer(w, http.StatusForbidden, "forbidden")
				return
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

// issue answers a token request: 204, the token in a cookie and a header.
func (s *signer) issue(w http.ResponseWriter, r *http.Request, name, header string) {
	token, err := s.token()
	if err != nil {
		plugin.Answer(w, http.StatusInternalServerError, "internal server error")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    token,
		Path:     "/",
		MaxAge:   int(s.ttl / time.Second),
		SameSite: http.SameSiteLaxMode,
		Secure:   r.TLS != nil,
		// Not HttpOnly: the page's script reads the cookie to send it back
		// in the header.
	})
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set(header, token)
	w.WriteHeader(http.StatusNoContent)
}

// token makes a new token that expires ttl from now.
func (s *signer) token() (string, error) {
	id := make([]byte, idLen)
	if _, err := rand.Read(id); err != nil {
		return "", fmt.Errorf("csrf: token id: %w", err)
	}
	payload := base64.RawURLEncoding.EncodeToString(id) + "." +
		strconv.FormatInt(s.now().Add(s.ttl).Unix(), 10)
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.sign(payload)), nil
}

func (s *signer) sign(payload string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// submitted reports whether r carries the token twice, in a cookie and in
// the header, and whether it is valid. Every check runs, whatever fails
// first.
func (s *signer) submitted(r *http.Request, name, header string) bool {
	sent := r.Header.Get(header)
	same := 0
	for _, c := range r.CookiesNamed(name) {
		same |= subtle.ConstantTimeCompare([]byte(c.Value), []byte(sent))
	}
	valid := s.valid(sent)
	return same == 1 && valid
}

// valid reports whether token has a good signature and has not expired.
func (s *signer) valid(token string) bool {
	// Strict: one token has one spelling, trailing bits included.
	b64 := base64.RawURLEncoding.Strict()
	id, rest, ok1 := strings.Cut(token, ".")
	expiry, sig, ok2 := strings.Cut(rest, ".")
	raw, err := b64.DecodeString(id)
	wellFormed := ok1 && ok2 && err == nil && len(raw) == idLen
	got, err := b64.DecodeString(sig)
	signed := hmac.Equal(got, s.sign(id+"."+expiry)) && err == nil
	exp, err := strconv.ParseInt(expiry, 10, 64)
	fresh := err == nil && s.now().Unix() < exp
	return wellFormed && signed && fresh
}
