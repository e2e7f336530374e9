// Package jwtauth is the "jwt" plugin: only requests carrying a valid JSON
// Web Token pass. The token is read from a header, a cookie or a query
// parameter and verified with an HMAC secret, a public key or the keys of a
// JWKS endpoint, always with the algorithm the config names (never the one
// the token claims). Verified claims can be forwarded as request headers,
// and, as in Pingap, a login path can have the proxy sign its upstream's
// answer into a token.
//
// The package is not called jwt so that it does not clash with the
// library it uses.
package jwtauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Category is the plugin's category name.
const Category = "jwt"

// Defaults of the options.
const (
	// DefaultHeader holds the token when neither cookie nor query is set.
	DefaultHeader = "Authorization"
	// DefaultJWKSTTL is how long keys fetched from jwks_url are used.
	DefaultJWKSTTL = 5 * time.Minute
	// DefaultTokenTTL is the lifetime of tokens signed at auth_path.
	DefaultTokenTTL = 24 * time.Hour
)

// Challenges sent with a 401: without a token, and with a token that did not
// verify (RFC 6750).
const (
	challenge        = `Bearer realm="pingap"`
	challengeInvalid = `Bearer realm="pingap", error="invalid_token"`
)

// Register adds the plugin to r.
func Register(r *plugin.Registry) { r.Register(Category, New) }

// auth is one built instance.
type auth struct {
	log    *slog.Logger
	parser *jwt.Parser
	// key returns the verification key of a token (the secret, the public
	// key or a key of the set).
	key   func(ctx context.Context, t *jwt.Token) (any, error)
	find  finder
	hide  bool
	delay time.Duration
	// claims are forwarded as headers; their client copies always go.
	claims []claimHeader
	mint   *minter // nil without auth_path
	// refused counts the 401s.
	refused func()
}

// New builds the middleware: keys are parsed (or their fetching started)
// and every option checked now, so a request only verifies.
func New(ctx plugin.BuildContext, _ string, cfg *pb.Plugin) (plugin.Middleware, error) {
	c := cfg.GetJwt()
	a := &auth{log: ctx.Log(), hide: c.GetHideCredentials(), delay: c.GetDelay().AsDuration(), refused: ctx.Count("refused")}
	alg, err := a.keys(ctx, c)
	if err != nil {
		return nil, err
	}
	if a.find, err = newFinder(c); err != nil {
		return nil, err
	}
	for i, s := range c.GetClaimsToHeaders() {
		claim, header, err := config.ParseClaimHeader(s)
		if err != nil {
			return nil, fmt.Errorf("claims_to_headers[%d]: %w", i, err)
		}
		a.claims = append(a.claims, claimHeader{claim: claim, header: http.CanonicalHeaderKey(header)})
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(alg),
		jwt.WithLeeway(c.GetLeeway().AsDuration()),
		jwt.WithTimeFunc(ctx.Clock()),
		jwt.WithIssuedAt(),
		jwt.WithJSONNumber(),
	}
	if iss := c.GetIssuer(); iss != "" {
		opts = append(opts, jwt.WithIssuer(iss))
	}
	if aud := c.GetAudience(); len(aud) > 0 {
		opts = append(opts, jwt.WithAudience(aud...))
	}
	if c.GetRequireExp() {
		opts = append(opts, jwt.WithExpirationRequired())
	}
	a.parser = jwt.NewParser(opts...)
	if ap := c.GetAuthPath(); ap != "" {
		if a.mint, err = newMinter(ctx, c); err != nil {
			return nil, err
		}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.serve(next, w, r) })
	}, nil
}

// keys sets a.key from secret, public_key or jwks_url and returns the
// algorithms a token may use.
func (a *auth) keys(ctx plugin.BuildContext, c *pb.JwtPlugin) ([]string, error) {
	alg := c.GetAlgorithm()
	kind := config.JWTKeyKind(alg)
	if alg != "" && kind == "" {
		return nil, fmt.Errorf("algorithm: unknown algorithm %q (known: %s)", alg, config.JWTAlgorithms)
	}
	n := 0
	for _, s := range []string{c.GetSecret(), c.GetPublicKey(), c.GetJwksUrl()} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return nil, errors.New("secret: set exactly one of secret, public_key and jwks_url")
	}
	switch {
	case c.GetSecret() != "":
		if alg == "" {
			alg, kind = "HS256", "HMAC"
		}
		if kind != "HMAC" {
			return nil, fmt.Errorf("algorithm: %s needs a public key: secret goes with HS256, HS384 or HS512", alg)
		}
		secret := []byte(c.GetSecret())
		a.key = func(context.Context, *jwt.Token) (any, error) { return secret, nil }
		return []string{alg}, nil
	case c.GetPublicKey() != "":
		if alg == "" {
			return nil, errors.New("algorithm: required with public_key")
		}
		data, err := config.ReadPEM(c.GetPublicKey())
		if err != nil {
			return nil, fmt.Errorf("public_key: %w", err)
		}
		key, err := config.ParsePublicKey(data)
		if err != nil {
			return nil, fmt.Errorf("public_key: %w", err)
		}
		if have := config.PublicKeyKind(key); have != kind {
			return nil, fmt.Errorf("algorithm: %s needs an %s key, public_key is %s", alg, kind, have)
		}
		a.key = func(context.Context, *jwt.Token) (any, error) { return key, nil }
		return []string{alg}, nil
	}
	if kind == "HMAC" {
		return nil, fmt.Errorf("algorithm: %s is an HMAC algorithm: a key set serves public keys", alg)
	}
	set, err := startJWKS(ctx, c)
	if err != nil {
		return nil, err
	}
	a.key = set.key
	if alg != "" {
		return []string{alg}, nil
	}
	return asymmetric(), nil
}

// asymmetric lists the algorithms a key set's keys may use.
func asymmetric() []string {
	return []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
}

func (a *auth) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	for _, ch := range a.claims {
		delete(r.Header, ch.header)
	}
	if a.mint != nil && r.URL.Path == a.mint.path {
		a.mint.serve(next, w, r)
		return
	}
	tok, src := a.find.token(r)
	if tok == "" {
		a.refuse(w, r, challenge)
		return
	}
	claims := jwt.MapClaims{}
	keyfunc := func(t *jwt.Token) (any, error) { return a.key(r.Context(), t) }
	if _, err := a.parser.ParseWithClaims(tok, claims, keyfunc); err != nil {
		// The error says which check failed, never the token.
		a.log.Debug("jwt: token refused", "err", err)
		a.refuse(w, r, challengeInvalid)
		return
	}
	for _, ch := range a.claims {
		if v, ok := claimValue(claims[ch.claim]); ok {
			r.Header[ch.header] = []string{v}
		}
	}
	if a.hide {
		a.find.remove(r, src)
	}
	next.ServeHTTP(w, r)
}

// refuse answers 401 after the configured delay.
func (a *auth) refuse(w http.ResponseWriter, r *http.Request, ch string) {
	a.refused()
	if !plugin.Wait(r, a.delay) {
		return
	}
	w.Header()["Www-Authenticate"] = []string{ch}
	plugin.Answer(w, http.StatusUnauthorized, "unauthorized")
}
