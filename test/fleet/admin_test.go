package fleet

// The control plane's admin API as the tests use it, and the configs they
// apply.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// u64 is a protojson uint64: a JSON string, or a number.
type u64 uint64

func (u *u64) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("uint64 %s: %w", b, err)
	}
	*u = u64(n)
	return nil
}

// versionInfo is pb.VersionInfo in protojson.
type versionInfo struct {
	Cluster string `json:"cluster"`
	Version u64    `json:"version"`
	Hash    string `json:"hash"`
	Author  string `json:"author"`
	Message string `json:"message"`
	Parent  u64    `json:"parent"`
}

// applyResult is the admin API's answer to an apply.
type applyResult struct {
	Created bool        `json:"created"`
	Version versionInfo `json:"version"`
}

// nodeStatus is pb.NodeStatus in protojson.
type nodeStatus struct {
	Node struct {
		ID      string `json:"id"`
		Cluster string `json:"cluster"`
	} `json:"node"`
	State          string `json:"state"`
	RunningVersion u64    `json:"running_version"`
	PushedVersion  u64    `json:"pushed_version"`
	LastNack       *struct {
		Version u64    `json:"version"`
		Error   string `json:"error"`
	} `json:"last_nack"`
	Connected bool   `json:"connected"`
	ServerID  string `json:"server_id"`
}

func (n nodeStatus) String() string {
	s := fmt.Sprintf("%s{%s running=%d connected=%v server=%s", n.Node.ID, strings.TrimPrefix(n.State, "NODE_STATE_"),
		n.RunningVersion, n.Connected, n.ServerID)
	if n.LastNack != nil {
		s += fmt.Sprintf(" nack=%d", n.LastNack.Version)
	}
	return s + "}"
}

const (
	stateSynced       = "NODE_STATE_SYNCED"
	stateNacked       = "NODE_STATE_NACKED"
	stateDisconnected = "NODE_STATE_DISCONNECTED"
)

// apply posts a TOML config to cluster with the query parameters q and
// returns the status code, the decoded answer (for 200 and 201) and the raw
// body.
func (c *controlPlane) apply(cluster, cfg string, q url.Values) (int, applyResult, string) {
	c.t.Helper()
	u := "http://" + c.admin + "/api/v1/clusters/" + cluster + "/config"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	resp, err := c.client.Post(u, "application/toml", strings.NewReader(cfg))
	if err != nil {
		c.t.Fatalf("apply through %s: %v", c.id, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var res applyResult
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated {
		if err := json.Unmarshal(body, &res); err != nil {
			c.t.Fatalf("apply through %s: %v in %s", c.id, err, body)
		}
	}
	return resp.StatusCode, res, string(body)
}

// mustApply applies cfg and fails unless a new version was created; it
// returns the version.
func (c *controlPlane) mustApply(cluster, cfg, message string) uint64 {
	c.t.Helper()
	code, res, body := c.apply(cluster, cfg, url.Values{"author": {"fleet-test"}, "message": {message}})
	if code != http.StatusCreated || !res.Created {
		c.t.Fatalf("apply %q through %s: %d %s, want 201 created", message, c.id, code, body)
	}
	return uint64(res.Version.Version)
}

// getJSON decodes GET path of the admin API into v.
func (c *controlPlane) getJSON(path string, v any) {
	c.t.Helper()
	resp, err := c.client.Get("http://" + c.admin + path)
	if err != nil {
		c.t.Fatalf("GET %s from %s: %v", path, c.id, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("GET %s from %s: %d %s", path, c.id, resp.StatusCode, body)
	}
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(v); err != nil {
		c.t.Fatalf("GET %s from %s: %v in %s", path, c.id, err, body)
	}
}

// nodes lists the cluster's nodes by id.
func (c *controlPlane) nodes(cluster string) map[string]nodeStatus {
	c.t.Helper()
	var res struct {
		Nodes []nodeStatus `json:"nodes"`
	}
	c.getJSON("/api/v1/clusters/"+cluster+"/nodes", &res)
	out := map[string]nodeStatus{}
	for _, n := range res.Nodes {
		out[n.Node.ID] = n
	}
	return out
}

// versions lists the cluster's versions.
func (c *controlPlane) versions(cluster string) []versionInfo {
	c.t.Helper()
	var res struct {
		Versions []versionInfo `json:"versions"`
	}
	c.getJSON("/api/v1/clusters/"+cluster+"/versions", &res)
	return res.Versions
}

// allSynced checks that every node of ids is connected and SYNCED on
// version v; it returns what is not so ("" when all are).
func allSynced(nodes map[string]nodeStatus, v uint64, ids ...string) string {
	var bad []string
	for _, id := range ids {
		n, ok := nodes[id]
		if !ok {
			bad = append(bad, id+" missing")
			continue
		}
		if n.State != stateSynced || uint64(n.RunningVersion) != v || !n.Connected {
			bad = append(bad, n.String())
		}
	}
	if len(bad) == 0 {
		return ""
	}
	return fmt.Sprintf("want all SYNCED on v%d, got %s", v, strings.Join(bad, " "))
}

// waitSynced waits until the cluster's nodes ids all show SYNCED on v
// through c's /nodes.
func (c *controlPlane) waitSynced(cluster string, v uint64, ids ...string) {
	c.t.Helper()
	waitFor(c.t, syncTimeout, "nodes SYNCED through "+c.id, func() string {
		return allSynced(c.nodes(cluster), v, ids...)
	})
}

// fleetConfig is a config whose one server listens on 127.0.0.1:0 (every
// node binds its own free port) and routes paths to upstreams.
type fleetConfig struct {
	name      string
	upstreams map[string]string // name -> address
	routes    map[string]string // path prefix -> upstream
	extra     string            // more TOML, appended
}

func (f fleetConfig) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[settings]\nname = %q\ngrace_period = \"2s\"\n\n", f.name)
	for _, name := range sortedKeys(f.upstreams) {
		fmt.Fprintf(&b, "[upstreams.%s]\naddrs = [%q]\n\n", name, f.upstreams[name])
	}
	var locs []string
	for i, path := range sortedKeys(f.routes) {
		loc := fmt.Sprintf("route%d", i)
		locs = append(locs, strconv.Quote(loc))
		fmt.Fprintf(&b, "[locations.%s]\npath = %q\nupstream = %q\n\n", loc, path, f.routes[path])
	}
	fmt.Fprintf(&b, "[servers.web]\naddr = \"127.0.0.1:0\"\nlocations = [%s]\n\n", strings.Join(locs, ", "))
	b.WriteString(f.extra)
	return b.String()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
