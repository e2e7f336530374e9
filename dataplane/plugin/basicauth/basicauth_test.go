package basicauth

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

func TestBasicAuth(t *testing.T) {
	t.Parallel()
	hash, err := bcrypt.GenerateFromPassword([]byte("b-pass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("c-pass"))
	cfg := &pb.BasicAuthPlugin{Authorizations: []string{
		base64.StdEncoding.EncodeToString([]byte("alice:a-pass")),
		"bob:" + string(hash),
		"carol:sha256:" + hex.EncodeToString(sum[:]),
	}, HideCredentials: true}
	mw, err := New(plugin.BuildContext{}, "ba", &pb.Plugin{Category: Category, Config: &pb.Plugin_BasicAuth{BasicAuth: cfg}})
	if err != nil {
		t.Fatal(err)
	}
	var forwarded *http.Request
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { forwarded = r; w.WriteHeader(299) }))
	tests := []struct {
		desc, user, pass string
		set              bool
		want             int
	}{
		{"base64 form", "alice", "a-pass", true, 299},
		{"bcrypt", "bob", "b-pass", true, 299},
		{"sha256", "carol", "c-pass", true, 299},
		{"wrong password", "bob", "nope", true, 401},
		{"unknown user", "mallory", "a-pass", true, 401},
		{"no credentials", "", "", false, 401},
		{"empty password of a known user", "alice", "", true, 401},
	}
	for _, tt := range tests {
		forwarded = nil
		req := httptest.NewRequest("GET", "/", nil)
		if tt.set {
			req.SetBasicAuth(tt.user, tt.pass)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("%s: status %d, want %d", tt.desc, rec.Code, tt.want)
			continue
		}
		if tt.want == 401 {
			if rec.Header().Get("WWW-Authenticate") != `Basic realm="pingap", charset="UTF-8"` || rec.Body.String() != "unauthorized" || forwarded != nil {
				t.Errorf("%s: refusal %v %q forwarded=%v", tt.desc, rec.Header(), rec.Body.String(), forwarded != nil)
			}
		} else if forwarded.Header.Get("Authorization") != "" {
			t.Errorf("%s: credentials forwarded despite hide_credentials", tt.desc)
		}
	}
}

func TestDelayOnFailure(t *testing.T) {
	t.Parallel()
	mw, err := New(plugin.BuildContext{}, "ba", &pb.Plugin{Category: Category, Config: &pb.Plugin_BasicAuth{BasicAuth: &pb.BasicAuthPlugin{
		Authorizations: []string{base64.StdEncoding.EncodeToString([]byte("a:b"))}, Delay: durationpb.New(150 * time.Millisecond)}}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	rec := httptest.NewRecorder()
	mw(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 401 || time.Since(start) < 150*time.Millisecond {
		t.Fatalf("status %d after %v, want 401 after the delay", rec.Code, time.Since(start))
	}
}

func TestBadConfig(t *testing.T) {
	t.Parallel()
	for _, a := range [][]string{nil, {"not base64 !!"}, {"u:sha256:zz"}, {base64.StdEncoding.EncodeToString([]byte("nocolon"))}} {
		if _, err := New(plugin.BuildContext{}, "ba", &pb.Plugin{Category: Category, Config: &pb.Plugin_BasicAuth{BasicAuth: &pb.BasicAuthPlugin{Authorizations: a}}}); err == nil {
			t.Errorf("authorizations %q built", a)
		}
	}
}

// An unknown user is checked against a bcrypt hash when users have them,
// so a refusal takes as long whether the user exists or not.
func TestDummyCostsAsMuchAsAUser(t *testing.T) {
	t.Parallel()
	cheap, err := bcrypt.GenerateFromPassword([]byte("p"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	dear, err := bcrypt.GenerateFromPassword([]byte("p"), bcrypt.MinCost+2)
	if err != nil {
		t.Fatal(err)
	}
	shaOnly := map[string]cred{"a": {sha: sha256.Sum256([]byte("p"))}}
	if d := dummyCred(shaOnly); d.bcrypt != nil || d.sha == shaOnly["a"].sha {
		t.Errorf("SHA-256 users: dummy %+v, want a digest of its own", d)
	}
	mixed := map[string]cred{"a": shaOnly["a"], "b": {bcrypt: cheap}, "c": {bcrypt: dear}}
	if d := dummyCred(mixed); string(d.bcrypt) != string(dear) {
		t.Errorf("bcrypt users: dummy %q, want the costliest hash %q", d.bcrypt, dear)
	}
}
