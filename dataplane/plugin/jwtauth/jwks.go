package jwtauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

const (
	// unknownKIDEvery is how often a token with an unknown key ID may make
	// the set be fetched again ahead of its TTL.
	unknownKIDEvery = 10 * time.Second
	// fetchTimeout bounds one fetch of the set.
	fetchTimeout = 10 * time.Second
	// firstFetchWait is how long building waits for the first fetch; after
	// it the plugin is in use and refuses tokens until the keys arrive.
	firstFetchWait = time.Second
)

// errNoKeys refuses tokens while the set has never been fetched.
var errNoKeys = errors.New("jwt: the JWKS has not been fetched yet")

// jwks verifies with the keys of a JSON Web Key Set. Until the first fetch
// succeeds it refuses every token and fetches again every
// min(jwks_ttl, 10s); once it has keys, jwkset refreshes them every
// jwks_ttl and when a token names an unknown key ID (at most every 10s).
type jwks struct {
	url    string
	ttl    time.Duration
	log    *slog.Logger
	client *http.Client
	// unknownKID limits the refreshes asked for by unknown key IDs; it is
	// read with the build context's clock.
	unknownKID *rate.Limiter
	clock      func() time.Time
	kf         atomic.Pointer[keySet]
}

// keySet is the keyfunc of a fetched set.
type keySet struct {
	kf keyfunc.Keyfunc
	// stop ends the set's refresher (the build's cleanup ends it too).
	stop context.CancelFunc
}

// startJWKS starts fetching the set, waits up to firstFetchWait for the
// first answer, and registers the stop of every fetch with ctx.Cleanup.
// A set that cannot be fetched does not fail the build: it is logged and
// fetched again.
func startJWKS(ctx plugin.BuildContext, c *pb.JwtPlugin) (*jwks, error) {
	u, err := url.Parse(c.GetJwksUrl())
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("jwks_url: %q is not an http(s) URL", c.GetJwksUrl())
	}
	ttl := c.GetJwksTtl().AsDuration()
	if ttl <= 0 {
		ttl = DefaultJWKSTTL
	}
	j := &jwks{
		url:        u.String(),
		ttl:        ttl,
		log:        ctx.Log().With("jwks_url", u.Redacted()),
		client:     &http.Client{Timeout: fetchTimeout},
		unknownKID: rate.NewLimiter(rate.Every(unknownKIDEvery), 1),
		clock:      ctx.Clock(),
	}
	run, stop := context.WithCancel(context.Background())
	ctx.Cleanup(stop)
	first := make(chan struct{})
	go j.connect(run, first)
	select {
	case <-first:
	case <-time.After(firstFetchWait):
		j.log.Warn("jwt: the JWKS has not answered yet; tokens are refused until it does")
	}
	return j, nil
}

// connect fetches the set until it succeeds or ctx ends; first is closed
// after the first attempt (and its warning, so a build that waited for it
// has logged it).
func (j *jwks) connect(ctx context.Context, first chan struct{}) {
	retry := min(j.ttl, unknownKIDEvery)
	for {
		err := j.fetch(ctx)
		failed := err != nil && ctx.Err() == nil
		if failed {
			j.log.Warn("jwt: cannot fetch the JWKS; tokens are refused until it can", "err", err, "retry_in", retry)
		}
		if first != nil {
			close(first)
			first = nil
		}
		if !failed {
			return
		}
		t := time.NewTimer(retry)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// fetch fetches the set once; on success jwkset's refresher keeps it up to
// date until ctx ends.
func (j *jwks) fetch(ctx context.Context) error {
	run, stop := context.WithCancel(ctx)
	fetched, err := jwkset.NewStorageFromHTTP(j.url, jwkset.HTTPClientStorageOptions{
		Client:          j.client,
		Ctx:             run,
		HTTPTimeout:     fetchTimeout,
		RefreshInterval: j.ttl,
		RefreshErrorHandler: func(_ context.Context, err error) {
			j.log.Warn("jwt: cannot refresh the JWKS; the keys fetched before stay in use", "err", err)
		},
	})
	if err != nil {
		stop() // ends the refresher NewStorageFromHTTP started
		return err
	}
	refreshing, err := jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs:         map[string]jwkset.Storage{j.url: fetched},
		RateLimitWaitMax: fetchTimeout,
		// j.unknownKID decides without waiting; this one never delays.
		RefreshUnknownKID: rate.NewLimiter(rate.Inf, 1),
	})
	if err != nil {
		stop()
		return err
	}
	kf, err := keyfunc.New(keyfunc.Options{
		Ctx:     run,
		Storage: gatedStorage{Storage: refreshing, fetched: fetched, j: j},
		// A key marked for encryption does not verify signatures.
		UseWhitelist: []jwkset.USE{jwkset.UseSig, ""},
	})
	if err != nil {
		stop()
		return err
	}
	j.kf.Store(&keySet{kf: kf, stop: stop})
	j.log.Info("jwt: JWKS fetched")
	return nil
}

// key is the jwt.Keyfunc: the key named by the token's kid (or every key
// of the set when it names none).
func (j *jwks) key(ctx context.Context, t *jwt.Token) (any, error) {
	s := j.kf.Load()
	if s == nil {
		return nil, errNoKeys
	}
	return s.kf.KeyfuncCtx(ctx)(t)
}

// gatedStorage reads keys from the fetched set and lets an unknown key ID
// through to the refreshing client (which fetches the set again) only when
// the rate limit allows; otherwise the token is refused at once instead of
// waiting for the limit.
type gatedStorage struct {
	jwkset.Storage // refreshes on an unknown kid
	fetched        jwkset.Storage
	j              *jwks
}

// KeyRead implements jwkset.Storage.
func (g gatedStorage) KeyRead(ctx context.Context, kid string) (jwkset.JWK, error) {
	k, err := g.fetched.KeyRead(ctx, kid)
	if !errors.Is(err, jwkset.ErrKeyNotFound) || !g.j.unknownKID.AllowN(g.j.clock(), 1) {
		return k, err
	}
	return g.Storage.KeyRead(ctx, kid)
}
