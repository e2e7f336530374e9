package store

import (
	"testing"
	"time"
)

func TestOpenConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		cfg     Config
		wantErr bool
	}{
		{desc: "client", cfg: Config{Client: shared.Client()}},
		{desc: "endpoints", cfg: Config{Endpoints: shared.Endpoints(), DialTimeout: time.Second}},
		{desc: "neither", cfg: Config{}, wantErr: true},
		{desc: "both", cfg: Config{Client: shared.Client(), Endpoints: shared.Endpoints()}, wantErr: true},
		{desc: "negative retention", cfg: Config{Client: shared.Client(), Retention: -1}, wantErr: true},
		{desc: "nobody listening", cfg: Config{Endpoints: []string{"http://127.0.0.1:1"}, DialTimeout: 300 * time.Millisecond}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			tc.cfg.Logger = testLogger(t)
			s, err := Open(t.Context(), tc.cfg)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if err := s.Ping(t.Context()); err != nil {
				t.Errorf("Ping: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
	// Closing a Store leaves a client it was given open.
	if _, err := shared.Client().Get(t.Context(), "x"); err != nil {
		t.Fatalf("shared client after Close: %v", err)
	}
}

func TestKeysLayout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		prefix string
		got    func(keys) string
		want   string
	}{
		{"", func(k keys) string { return k.current("prod") }, "/pingap/clusters/prod/current"},
		{"/x/", func(k keys) string { return k.version("a/b", 42) }, "/x/clusters/a%2Fb/versions/00000000000000000042"},
		{"/x", func(k keys) string { return k.object("ab") }, "/x/objects/ab"},
		{"/x", func(k keys) string { return k.node("c", "host 1") }, "/x/nodes/c/host%201"},
		{"/x", func(k keys) string { return k.liveNode("c", "h") }, "/x/live/c/h"},
	}
	for _, tc := range tests {
		if got := tc.got(newKeys(tc.prefix)); got != tc.want {
			t.Errorf("prefix %q: %q, want %q", tc.prefix, got, tc.want)
		}
	}
}
