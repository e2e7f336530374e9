package jwtauth

import (
	"crypto"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
	"github.com/pingap-go/pingap/internal/syncbuf"
)

// jwksServer serves a key set it can change, and can be down.
type jwksServer struct {
	mu   sync.Mutex
	keys []jwkset.JWK
	down atomic.Bool
	hits atomic.Int64
}

func (s *jwksServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.hits.Add(1)
	if s.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	s.mu.Lock()
	store := jwkset.NewMemoryStorage()
	for _, k := range s.keys {
		_ = store.KeyWrite(r.Context(), k)
	}
	s.mu.Unlock()
	raw, err := store.JSONPrivate(r.Context()) // public keys, and the oct key of the tests
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(raw)
}

// set replaces the served keys.
func (s *jwksServer) set(keys ...jwkset.JWK) {
	s.mu.Lock()
	s.keys = keys
	s.mu.Unlock()
}

// jwk describes a verification key (public, or an HMAC secret) for the set.
func jwk(t *testing.T, key any, kid, alg string) jwkset.JWK {
	t.Helper()
	if s, ok := key.(crypto.Signer); ok {
		key = s.Public()
	}
	j, err := jwkset.NewJWKFromKey(key, jwkset.JWKOptions{
		Marshal:  jwkset.JWKMarshalOptions{Private: true},
		Metadata: jwkset.JWKMetadataOptions{KID: kid, ALG: jwkset.ALG(alg)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// fakeClock is a build context clock the test moves.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(testNow().UnixNano())
	return c
}
func (c *fakeClock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) add(d time.Duration) { c.ns.Add(int64(d)) }
func (c *fakeClock) ctx(t *testing.T) plugin.BuildContext {
	return plugin.BuildContext{Now: c.now, OnClose: func(fn func()) { t.Cleanup(fn) }}
}

func buildJWKS(t *testing.T, ctx plugin.BuildContext, cfg *pb.JwtPlugin) plugin.Middleware {
	t.Helper()
	mw, err := New(ctx, "jwt", &pb.Plugin{Category: Category, Config: &pb.Plugin_Jwt{Jwt: cfg}})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return mw
}

// eventually polls until the token passes or the deadline.
func eventually(t *testing.T, mw plugin.Middleware, tok string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		rec, _ := serve(mw, bearerReq("/", tok))
		if rec.Code == 299 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("token still refused (%d) after 5s", rec.Code)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestJWKSKeysByKid(t *testing.T) {
	t.Parallel()
	k, other := newKeys(t), newKeys(t)
	js := &jwksServer{}
	js.set(jwk(t, k.rsa, "k1", "RS256"), jwk(t, []byte(secret), "sym", "HS256"))
	srv := httptest.NewServer(js)
	t.Cleanup(srv.Close)
	clock := newFakeClock()
	mw := buildJWKS(t, clock.ctx(t), &pb.JwtPlugin{JwksUrl: srv.URL, JwksTtl: durationpb.New(time.Hour)})
	status := func(tok string) int {
		t.Helper()
		rec, fwd := serve(mw, bearerReq("/", tok))
		if rec.Code == http.StatusUnauthorized {
			wantRefused(t, rec, fwd, true)
		}
		return rec.Code
	}

	if got := status(sign(t, "RS256", k.rsa, claimsAt(nil), "k1")); got != 299 {
		t.Fatalf("known kid: %d", got)
	}
	if got := status(sign(t, "RS256", k.rsa, claimsAt(nil), "")); got != 299 {
		t.Fatalf("no kid (every key tried): %d", got)
	}
	if got := status(sign(t, "RS256", other.rsa, claimsAt(nil), "k1")); got != 401 {
		t.Fatalf("known kid, wrong key: %d", got)
	}
	// The set holds an HMAC key, but a key set only verifies asymmetric
	// algorithms.
	if got := status(sign(t, "HS256", []byte(secret), claimsAt(nil), "sym")); got != 401 {
		t.Fatalf("HS256 with a key of the set: %d", got)
	}

	// Rotation: a token with a new kid makes the set be fetched again.
	js.set(jwk(t, k.ec256, "k2", "ES256"))
	hits := js.hits.Load()
	if got := status(sign(t, "ES256", k.ec256, claimsAt(nil), "k2")); got != 299 {
		t.Fatalf("new kid after rotation: %d", got)
	}
	if js.hits.Load() != hits+1 {
		t.Fatalf("%d fetches for the new kid, want 1", js.hits.Load()-hits)
	}
	// The old key is gone with the refresh.
	if got := status(sign(t, "RS256", k.rsa, claimsAt(nil), "k1")); got != 401 {
		t.Fatalf("retired kid: %d", got)
	}

	// Another rotation within 10s: the unknown kid does not fetch again
	// (and does not wait) until the clock has moved on.
	js.set(jwk(t, k.ed, "k3", "EdDSA"))
	hits = js.hits.Load()
	tok3 := sign(t, "EdDSA", k.ed, claimsAt(nil), "k3")
	start := time.Now()
	if got := status(tok3); got != 401 {
		t.Fatalf("new kid within 10s of a refresh: %d", got)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("a rate-limited unknown kid waited %v", d)
	}
	if js.hits.Load() != hits {
		t.Fatalf("unknown kid fetched the set within 10s of the last fetch")
	}
	clock.add(10 * time.Second)
	if got := status(tok3); got != 299 {
		t.Fatalf("new kid 10s later: %d", got)
	}
	// With algorithm set, only that algorithm verifies, whatever the set
	// holds.
	js.set(jwk(t, k.ec256, "k2", "ES256"), jwk(t, k.ed, "k3", "EdDSA"))
	pinned := buildJWKS(t, clock.ctx(t), &pb.JwtPlugin{JwksUrl: srv.URL, Algorithm: "ES256"})
	if rec, _ := serve(pinned, bearerReq("/", sign(t, "ES256", k.ec256, claimsAt(nil), "k2"))); rec.Code != 299 {
		t.Fatalf("ES256 token with algorithm = ES256: %d", rec.Code)
	}
	if rec, _ := serve(pinned, bearerReq("/", tok3)); rec.Code != 401 {
		t.Fatalf("EdDSA token with algorithm = ES256: %d", rec.Code)
	}
}

// A key set that is down when the config is built does not fail the build:
// tokens are refused until it answers.
func TestJWKSDownAtBuild(t *testing.T) {
	t.Parallel()
	k := newKeys(t)
	js := &jwksServer{}
	js.set(jwk(t, k.rsa, "k1", "RS256"))
	js.down.Store(true)
	srv := httptest.NewServer(js)
	t.Cleanup(srv.Close)
	var logs syncbuf.Buffer
	ctx := newFakeClock().ctx(t)
	ctx.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	start := time.Now()
	mw := buildJWKS(t, ctx, &pb.JwtPlugin{JwksUrl: srv.URL, JwksTtl: durationpb.New(50 * time.Millisecond)})
	if d := time.Since(start); d > firstFetchWait {
		t.Fatalf("build took %v with the key set down", d)
	}
	tok := sign(t, "RS256", k.rsa, claimsAt(nil), "k1")
	rec, fwd := serve(mw, bearerReq("/", tok))
	wantRefused(t, rec, fwd, true)
	if !strings.Contains(logs.String(), "cannot fetch the JWKS") {
		t.Errorf("no warning logged: %s", logs.String())
	}
	js.down.Store(false)
	eventually(t, mw, tok)
	if strings.Contains(logs.String(), tok) {
		t.Errorf("a log line holds the token: %s", logs.String())
	}
}

// A key set that does not answer at all holds the build for at most
// firstFetchWait.
func TestJWKSSilentAtBuild(t *testing.T) {
	t.Parallel()
	k := newKeys(t)
	js := &jwksServer{}
	js.set(jwk(t, k.ed, "k1", "EdDSA"))
	srv := httptest.NewUnstartedServer(js) // listens, does not answer yet
	t.Cleanup(srv.Close)
	start := time.Now()
	mw := buildJWKS(t, newFakeClock().ctx(t), &pb.JwtPlugin{JwksUrl: "http://" + srv.Listener.Addr().String()})
	if d := time.Since(start); d > firstFetchWait+time.Second {
		t.Fatalf("build took %v with the key set silent", d)
	}
	tok := sign(t, "EdDSA", k.ed, claimsAt(nil), "k1")
	rec, fwd := serve(mw, bearerReq("/", tok))
	wantRefused(t, rec, fwd, true)
	srv.Start()
	eventually(t, mw, tok)
}

// The cleanup registered at build stops every fetch: the refresher of a
// fetched set, and the retries of one that was never fetched.
func TestJWKSCleanupStops(t *testing.T) {
	t.Parallel()
	k := newKeys(t)
	for _, down := range []bool{false, true} {
		js := &jwksServer{}
		js.set(jwk(t, k.rsa, "k1", "RS256"))
		js.down.Store(down)
		srv := httptest.NewServer(js)
		t.Cleanup(srv.Close)
		var mu sync.Mutex
		var cleanups []func()
		ctx := plugin.BuildContext{Now: testNow, OnClose: func(fn func()) {
			mu.Lock()
			cleanups = append(cleanups, fn)
			mu.Unlock()
		}}
		buildJWKS(t, ctx, &pb.JwtPlugin{JwksUrl: srv.URL, JwksTtl: durationpb.New(10 * time.Millisecond)})
		deadline := time.Now().Add(5 * time.Second)
		for js.hits.Load() < 3 {
			if time.Now().After(deadline) {
				t.Fatalf("down=%v: %d fetches in 5s with a 10ms TTL", down, js.hits.Load())
			}
			time.Sleep(5 * time.Millisecond)
		}
		mu.Lock()
		if len(cleanups) == 0 {
			t.Fatal("nothing registered with OnClose")
		}
		for range 2 { // cleanups may run twice
			for _, fn := range cleanups {
				fn()
			}
		}
		mu.Unlock()
		time.Sleep(50 * time.Millisecond) // a fetch in flight may end
		n := js.hits.Load()
		time.Sleep(150 * time.Millisecond)
		if got := js.hits.Load(); got != n {
			t.Fatalf("down=%v: %d fetches after the cleanup", down, got-n)
		}
	}
}
