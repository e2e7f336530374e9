package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

func TestStartEmbeddedTwice(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var servers []*Embedded
	for range 2 {
		start := time.Now()
		e, err := StartEmbedded(ctx, filepath.Join(t.TempDir(), "etcd"), EmbeddedOptions{Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		t.Logf("embedded etcd at %v ready in %v", e.Endpoints(), took)
		if took > 5*time.Second {
			t.Errorf("start took %v, want well under 5s", took)
		}
		servers = append(servers, e)
	}
	defer func() {
		for _, e := range servers {
			if err := e.Close(); err != nil {
				t.Error(err)
			}
		}
	}()
	if servers[0].Endpoints()[0] == servers[1].Endpoints()[0] {
		t.Fatalf("both servers at %v", servers[0].Endpoints())
	}
	for i, e := range servers {
		if _, err := e.Client().Put(ctx, "k", "v"); err != nil {
			t.Fatalf("server %d: %v", i, err)
		}
	}
}
