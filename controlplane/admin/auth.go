package admin

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// Role is what a token may do.
type Role string

// Roles.
const (
	// RoleRead may read configs, versions, diffs and the fleet, and
	// validate or diff a candidate config.
	RoleRead Role = "read"
	// RoleAdmin may also apply and roll back.
	RoleAdmin Role = "admin"
)

// Token is an accepted bearer token.
type Token struct {
	// Secret is the token itself, sent as "Authorization: Bearer SECRET".
	Secret string
	// Role is RoleRead or RoleAdmin.
	Role Role
	// Name identifies the token in logs (the secret never is logged) and is
	// the default author of the versions it applies. Default: "token-N".
	Name string
}

// LoadTokens reads a tokens file (see ParseTokens).
func LoadTokens(path string) ([]Token, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("admin: tokens file: %w", err)
	}
	defer func() { _ = f.Close() }()
	tokens, err := ParseTokens(f)
	if err != nil {
		return nil, fmt.Errorf("admin: tokens file %s: %w", path, err)
	}
	return tokens, nil
}

// ParseTokens reads tokens, one per line as "TOKEN ROLE [NAME]" separated
// by spaces or tabs, ROLE "read" or "admin". Empty lines and lines starting
// with # are skipped. A token without a name is named "token-LINE". Errors
// name the line, never the token.
func ParseTokens(r io.Reader) ([]Token, error) {
	var out []Token
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || len(f) > 3 {
			return nil, fmt.Errorf("line %d: want TOKEN ROLE [NAME]", n)
		}
		t := Token{Secret: f[0], Role: Role(f[1]), Name: "token-" + strconv.Itoa(n)}
		if len(f) == 3 {
			t.Name = f[2]
		}
		if t.Role != RoleRead && t.Role != RoleAdmin {
			return nil, fmt.Errorf("line %d: role %q is neither read nor admin", n, f[1])
		}
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// ParseTokensEnv reads tokens from the PINGAP_ADMIN_TOKENS form:
// "TOKEN:ROLE[:NAME],TOKEN:ROLE[:NAME]". A token without a name is named
// "env-token-N" (N counts from 1).
func ParseTokensEnv(s string) ([]Token, error) {
	var out []Token
	for i, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		f := strings.Split(item, ":")
		if len(f) < 2 || len(f) > 3 || f[0] == "" {
			return nil, fmt.Errorf("admin: tokens entry %d: want TOKEN:ROLE[:NAME]", i+1)
		}
		t := Token{Secret: f[0], Role: Role(f[1]), Name: "env-token-" + strconv.Itoa(i+1)}
		if len(f) == 3 && f[2] != "" {
			t.Name = f[2]
		}
		if t.Role != RoleRead && t.Role != RoleAdmin {
			return nil, fmt.Errorf("admin: tokens entry %d: role %q is neither read nor admin", i+1, f[1])
		}
		out = append(out, t)
	}
	return out, nil
}

// authenticator matches presented tokens against the accepted ones by
// their SHA-256 digests, compared in constant time with every accepted
// token, so neither the position of a match nor the tokens' lengths show in
// the timing.
type authenticator struct {
	tokens []acceptedToken
}

type acceptedToken struct {
	digest [sha256.Size]byte
	role   Role
	name   string
}

// newAuthenticator returns nil when there are no tokens (no
// authentication).
func newAuthenticator(tokens []Token) (*authenticator, error) {
	if len(tokens) == 0 {
		return nil, nil
	}
	a := &authenticator{}
	seen := make(map[[sha256.Size]byte]bool)
	for i, t := range tokens {
		if t.Secret == "" {
			return nil, fmt.Errorf("admin: token %d (%s) is empty", i+1, t.Name)
		}
		if t.Role != RoleRead && t.Role != RoleAdmin {
			return nil, fmt.Errorf("admin: token %s: role %q is neither read nor admin", t.Name, t.Role)
		}
		d := sha256.Sum256([]byte(t.Secret))
		if seen[d] {
			return nil, fmt.Errorf("admin: token %s is listed twice", t.Name)
		}
		seen[d] = true
		a.tokens = append(a.tokens, acceptedToken{digest: d, role: t.Role, name: t.Name})
	}
	return a, nil
}

// lookup returns the accepted token matching secret.
func (a *authenticator) lookup(secret string) (acceptedToken, bool) {
	d := sha256.Sum256([]byte(secret))
	var found acceptedToken
	ok := false
	for _, t := range a.tokens {
		if subtle.ConstantTimeCompare(d[:], t.digest[:]) == 1 {
			found, ok = t, true
		}
	}
	return found, ok
}

// identityKey keys the authenticated caller's token name in the request
// context.
type identityKey struct{}

// callerName returns the name of the request's token, "" without
// authentication.
func callerName(ctx context.Context) string {
	name, _ := ctx.Value(identityKey{}).(string)
	return name
}

// bearer extracts the token of an "Authorization: Bearer TOKEN" header.
func bearer(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", errors.New("missing bearer token: send Authorization: Bearer TOKEN")
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", errors.New("malformed Authorization header: want Bearer TOKEN")
	}
	return strings.TrimSpace(token), nil
}

// authorize wraps a handler with the token check for the access level.
func (a *API) authorize(need access, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.auth == nil {
			next(w, r)
			return
		}
		secret, err := bearer(r)
		if err != nil {
			a.opts.Logger.Warn("admin API: unauthenticated request", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "reason", err)
			a.fail(w, http.StatusUnauthorized, codeUnauthorized, err)
			return
		}
		tok, ok := a.auth.lookup(secret)
		if !ok {
			a.opts.Logger.Warn("admin API: unknown token", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
			a.fail(w, http.StatusUnauthorized, codeUnauthorized, errors.New("unknown token"))
			return
		}
		if need == adminAccess && tok.role != RoleAdmin {
			a.opts.Logger.Warn("admin API: forbidden", "method", r.Method, "path", r.URL.Path, "token", tok.name, "role", tok.role)
			a.fail(w, http.StatusForbidden, codeForbidden, fmt.Errorf("token %q has role %s; this needs an admin token", tok.name, tok.role))
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), identityKey{}, tok.name)))
	}
}
