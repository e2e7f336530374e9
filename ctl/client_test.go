package ctl

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

func TestNewClient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, server, want, err string
	}{
		{desc: "bare host:port is plain HTTP", server: "127.0.0.1:9180", want: "http://127.0.0.1:9180"},
		{desc: "https with a prefix, trailing slash dropped", server: "https://cp.example/pingap/", want: "https://cp.example/pingap"},
		{desc: "query dropped", server: "http://cp:1/?x=1", want: "http://cp:1"},
		{desc: "other scheme", server: "ftp://cp", err: "want an http:// or https:// URL"},
		{desc: "no host", server: "http://", err: "no host"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			c, err := NewClient(tc.server)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || c.Server() != tc.want {
				t.Fatalf("Server() = %v (err %v), want %q", c, err, tc.want)
			}
		})
	}
}

func TestClientCalls(t *testing.T) {
	t.Parallel()
	f, srv := newFakeAPI(t)
	ctx := context.Background()
	c, err := NewClient(srv.URL, WithToken("admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	snap := &pb.Snapshot{Upstreams: map[string]*pb.Upstream{"api": {Addrs: []string{"127.0.0.1:1"}}}}
	res, err := c.Apply(ctx, "default", snap, WithAuthor("me"), WithMessage("first"))
	if err != nil || !res.Created || res.Version.GetVersion() != 1 || res.Version.GetAuthor() != "me" || len(res.Diff) != 1 {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	_, err = c.Apply(ctx, "default", snap, WithIfVersion(5))
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusConflict || ae.Code != "conflict" || ae.CurrentVersion != 1 {
		t.Fatalf("Apply with a stale if_version: %#v", err)
	}
	info, got, err := c.Config(ctx, "default", 0)
	if err != nil || info.GetVersion() != 1 || got.GetUpstreams()["api"].GetAddrs()[0] != "127.0.0.1:1" {
		t.Fatalf("Config = %v %v %v", info, got, err)
	}
	text, v, err := c.ConfigTOML(ctx, "default", 1)
	if err != nil || v != 1 || !strings.Contains(string(text), "version 1") {
		t.Fatalf("ConfigTOML = %q %d %v", text, v, err)
	}
	f.mu.Lock()
	f.nodes = []*pb.NodeStatus{node("n1", pb.NodeState_NODE_STATE_SYNCED, 1)}
	f.mu.Unlock()
	n, err := c.Node(ctx, "default", "n1")
	if err != nil || n.GetNode().GetId() != "n1" || n.GetRunningVersion() != 1 || n.GetState() != pb.NodeState_NODE_STATE_SYNCED {
		t.Fatalf("Node = %v, %v", n, err)
	}
	if _, err := c.Node(ctx, "default", "nope"); !IsCode(err, "not_found") {
		t.Fatalf("Node(nope) error %v, want not_found", err)
	}
	st, err := c.Status(ctx, "default")
	if err != nil || st.CurrentVersion != 1 || st.Nodes.Synced != 1 {
		t.Fatalf("Status = %+v, %v", st, err)
	}
}

func TestAPIErrorOfANonJSONAnswer(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "upstream connect error", http.StatusBadGateway)
	}))
	defer srv.Close()
	c, _ := NewClient(srv.URL)
	_, err := c.Versions(context.Background(), "default", 1)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusBadGateway || ae.Code != "bad_gateway" || ae.Message != "upstream connect error" {
		t.Fatalf("error %#v", err)
	}
}

func TestTLSFlags(t *testing.T) {
	t.Parallel()
	f := &fakeAPI{}
	srv := httptest.NewTLSServer(f)
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"PINGAP_SERVER": srv.URL}
	run(t, env, "", "history").must(t, ExitFailure, "cannot reach the control plane", "give its CA with --ca")
	run(t, env, "", "history", "--ca", ca).must(t, ExitOK, "has no version yet")
	run(t, env, "", "history", "--insecure-skip-verify").must(t, ExitOK, "has no version yet")
	run(t, env, "", "history", "--ca", filepath.Join(t.TempDir(), "none.pem")).must(t, ExitFailure, "--ca")
}
