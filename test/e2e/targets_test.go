package e2e

// Reading the per-target health state from /status. The document is read
// as generic JSON so the tests assert only on the fields that exist:
// "upstreams" (a list of objects with "name", or an object keyed by name),
// each with "targets" (a list of objects with "addr", or an object keyed by
// address) carrying "healthy" and "ejected".

import (
	"encoding/json"
	"io"
	"net/http"
	"time"
)

// targetView is one target's state in /status; a nil field is absent.
type targetView struct {
	Healthy *bool
	Ejected *bool
	Raw     map[string]any
}

// upstreamTargets returns the targets of upstream up by address, and the
// raw /status body for messages. found is false when /status does not list
// the upstream.
func (d *dataplane) upstreamTargets(up string) (targets map[string]targetView, raw string, found bool) {
	d.t.Helper()
	resp, err := d.client.Get("http://" + d.admin + "/status")
	if err != nil {
		d.t.Fatalf("GET /status: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		d.t.Fatalf("GET /status: %d %s", resp.StatusCode, body)
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		d.t.Fatalf("GET /status: %v in %s", err, body)
	}
	u := findNamed(doc["upstreams"], up, "name")
	if u == nil {
		return nil, string(body), false
	}
	targets = map[string]targetView{}
	forEachNamed(u["targets"], "addr", func(addr string, m map[string]any) {
		v := targetView{Raw: m}
		if b, ok := m["healthy"].(bool); ok {
			v.Healthy = &b
		}
		if b, ok := m["ejected"].(bool); ok {
			v.Ejected = &b
		}
		targets[addr] = v
	})
	return targets, string(body), true
}

// findNamed finds the object named name in a list of objects (by key) or in
// an object keyed by name.
func findNamed(v any, name, key string) map[string]any {
	var found map[string]any
	forEachNamed(v, key, func(n string, m map[string]any) {
		if n == name {
			found = m
		}
	})
	return found
}

func forEachNamed(v any, key string, f func(string, map[string]any)) {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			if m, ok := e.(map[string]any); ok {
				if n, ok := m[key].(string); ok {
					f(n, m)
				}
			}
		}
	case map[string]any:
		for n, e := range v {
			if m, ok := e.(map[string]any); ok {
				f(n, m)
			}
		}
	}
}

// waitTarget polls /status until cond holds for target addr of upstream up.
// It fails the test after timeout, or at once when /status lacks the
// upstream's targets or the fields cond needs.
func (d *dataplane) waitTarget(up, addr, what string, timeout time.Duration, cond func(targetView) (ok, known bool)) {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		targets, raw, found := d.upstreamTargets(up)
		if !found {
			d.t.Fatalf("/status does not show upstream %q with its targets: %s", up, raw)
		}
		v, ok := targets[addr]
		if !ok {
			d.t.Fatalf("/status does not show target %s of upstream %q: %s", addr, up, raw)
		}
		done, known := cond(v)
		if !known {
			d.t.Fatalf("/status: target %s of %q lacks the field for %q: %v", addr, up, what, v.Raw)
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("/status: target %s of %q not %s after %s: %v", addr, up, what, timeout, v.Raw)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// isHealthy and the others are conditions for waitTarget.
func isHealthy(want bool) func(targetView) (bool, bool) {
	return func(v targetView) (bool, bool) {
		if v.Healthy == nil {
			return false, false
		}
		return *v.Healthy == want, true
	}
}

func isEjected(want bool) func(targetView) (bool, bool) {
	return func(v targetView) (bool, bool) {
		if v.Ejected == nil {
			return false, false
		}
		return *v.Ejected == want, true
	}
}
