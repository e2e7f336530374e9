package ctl

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/pingap-go/pingap/config"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// ApplyOption sets a parameter of Apply or Rollback.
type ApplyOption func(url.Values)

// WithAuthor records who applies. Default: none (the API may use the
// X-Pingap-Author header or leave it empty).
func WithAuthor(author string) ApplyOption {
	return func(q url.Values) { setIf(q, "author", author) }
}

// WithMessage records why.
func WithMessage(msg string) ApplyOption {
	return func(q url.Values) { setIf(q, "message", msg) }
}

// WithIfVersion makes the call fail with a conflict unless the cluster's
// current version is v (optimistic concurrency).
func WithIfVersion(v uint64) ApplyOption {
	return func(q url.Values) { q.Set("if_version", strconv.FormatUint(v, 10)) }
}

// WithDryRun makes Apply report what it would do, storing nothing.
func WithDryRun() ApplyOption {
	return func(q url.Values) { q.Set("dry_run", "true") }
}

func setIf(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

// ApplyResult is the answer to Apply and Rollback.
type ApplyResult struct {
	// Created says a new version was stored; false when the content equals
	// the current version's (Version is then that version).
	Created bool
	// Version is the new or unchanged current version; nil for a dry run.
	Version *pb.VersionInfo
	// Diff lists the changes from the previous current version.
	Diff []Change
	// DryRun says nothing was stored; WouldCreate then says whether a new
	// version would have been.
	DryRun, WouldCreate bool
	// CurrentVersion is the current version a dry run compared against.
	CurrentVersion uint64
}

type applyBody struct {
	Created        bool            `json:"created"`
	Version        json.RawMessage `json:"version"`
	Diff           []Change        `json:"diff"`
	DryRun         bool            `json:"dry_run"`
	WouldCreate    bool            `json:"would_create"`
	CurrentVersion uint64          `json:"current_version"`
}

func parseApply(data []byte) (*ApplyResult, error) {
	var b applyBody
	if err := decodeJSON(data, &b); err != nil {
		return nil, err
	}
	res := &ApplyResult{Created: b.Created, Diff: b.Diff, DryRun: b.DryRun, WouldCreate: b.WouldCreate,
		CurrentVersion: b.CurrentVersion}
	if len(b.Version) > 0 && string(b.Version) != "null" {
		res.Version = &pb.VersionInfo{}
		if err := unmarshalProto(b.Version, res.Version); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// encodeSnapshot is the protojson body of a config upload.
func encodeSnapshot(s *pb.Snapshot) ([]byte, error) {
	data, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("ctl: encoding the config: %w", err)
	}
	return data, nil
}

// Apply stores s as the cluster's new version (unless its content equals
// the current version's).
func (c *Client) Apply(ctx context.Context, cluster string, s *pb.Snapshot, opts ...ApplyOption) (*ApplyResult, error) {
	body, err := encodeSnapshot(s)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	for _, o := range opts {
		o(q)
	}
	resp, err := c.do(ctx, request{method: http.MethodPost, path: clusterPath(cluster, "/config"), query: q,
		body: body, contentType: "application/json"})
	if err != nil {
		return nil, err
	}
	return parseApply(resp.body)
}

// Rollback makes a new version of the cluster with the content of version
// to. WithDryRun is not supported.
func (c *Client) Rollback(ctx context.Context, cluster string, to uint64, opts ...ApplyOption) (*ApplyResult, error) {
	q := url.Values{"to": {strconv.FormatUint(to, 10)}}
	for _, o := range opts {
		o(q)
	}
	resp, err := c.do(ctx, request{method: http.MethodPost, path: clusterPath(cluster, "/rollback"), query: q})
	if err != nil {
		return nil, err
	}
	return parseApply(resp.body)
}

// versionQuery selects a version; 0 is the current one.
func versionQuery(version uint64, format string) url.Values {
	q := url.Values{"format": {format}}
	if version > 0 {
		q.Set("version", strconv.FormatUint(version, 10))
	}
	return q
}

// Config returns a version of the cluster's config (0: the current one).
func (c *Client) Config(ctx context.Context, cluster string, version uint64) (*pb.VersionInfo, *pb.Snapshot, error) {
	var b struct {
		Version json.RawMessage `json:"version"`
		Config  json.RawMessage `json:"config"`
	}
	if err := c.getJSON(ctx, clusterPath(cluster, "/config"), versionQuery(version, "json"), &b); err != nil {
		return nil, nil, err
	}
	info, snap := &pb.VersionInfo{}, &pb.Snapshot{}
	if err := unmarshalProto(b.Version, info); err != nil {
		return nil, nil, err
	}
	if err := unmarshalProto(b.Config, snap); err != nil {
		return nil, nil, err
	}
	return info, snap, nil
}

// ConfigTOML returns a version of the cluster's config (0: the current
// one) as TOML rendered by the control plane, and its version number.
func (c *Client) ConfigTOML(ctx context.Context, cluster string, version uint64) ([]byte, uint64, error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: clusterPath(cluster, "/config"), query: versionQuery(version, "toml")})
	if err != nil {
		return nil, 0, err
	}
	v, _ := strconv.ParseUint(resp.header.Get("X-Pingap-Version"), 10, 64)
	return resp.body, v, nil
}

// Versions lists the cluster's newest versions, newest first; limit <= 0
// leaves the number to the API.
func (c *Client) Versions(ctx context.Context, cluster string, limit int) ([]*pb.VersionInfo, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var b struct {
		Versions []json.RawMessage `json:"versions"`
	}
	if err := c.getJSON(ctx, clusterPath(cluster, "/versions"), q, &b); err != nil {
		return nil, err
	}
	out := make([]*pb.VersionInfo, 0, len(b.Versions))
	for _, raw := range b.Versions {
		v := &pb.VersionInfo{}
		if err := unmarshalProto(raw, v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Change is one object that differs between two configs (config.Diff's
// result, as the API sends it).
type Change = config.Change

// Diff is the difference between two configs.
type Diff struct {
	// From and To are the versions compared; To is 0 for a candidate.
	From uint64 `json:"from"`
	To   uint64 `json:"to"`
	// Changes lists the changed objects.
	Changes []Change `json:"changes"`
	// Text is a unified text diff of the TOML renderings.
	Text string `json:"text"`
}

// Diff returns the difference between two versions of the cluster.
func (c *Client) Diff(ctx context.Context, cluster string, from, to uint64) (*Diff, error) {
	q := url.Values{"from": {strconv.FormatUint(from, 10)}, "to": {strconv.FormatUint(to, 10)}}
	var d Diff
	if err := c.getJSON(ctx, clusterPath(cluster, "/diff"), q, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// DiffCandidate returns the difference between the cluster's current
// version and s.
func (c *Client) DiffCandidate(ctx context.Context, cluster string, s *pb.Snapshot) (*Diff, error) {
	body, err := encodeSnapshot(s)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, request{method: http.MethodPost, path: clusterPath(cluster, "/diff"),
		body: body, contentType: "application/json"})
	if err != nil {
		return nil, err
	}
	var d Diff
	if err := decodeJSON(resp.body, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// Nodes lists every data plane the cluster has seen.
func (c *Client) Nodes(ctx context.Context, cluster string) ([]*pb.NodeStatus, error) {
	var b struct {
		Nodes []json.RawMessage `json:"nodes"`
	}
	if err := c.getJSON(ctx, clusterPath(cluster, "/nodes"), nil, &b); err != nil {
		return nil, err
	}
	out := make([]*pb.NodeStatus, 0, len(b.Nodes))
	for _, raw := range b.Nodes {
		n := &pb.NodeStatus{}
		if err := unmarshalProto(raw, n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// Node returns one data plane of the cluster.
func (c *Client) Node(ctx context.Context, cluster, id string) (*pb.NodeStatus, error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: clusterPath(cluster, "/nodes/"+url.PathEscape(id))})
	if err != nil {
		return nil, err
	}
	n := &pb.NodeStatus{}
	if err := unmarshalProto(resp.body, n); err != nil {
		return nil, err
	}
	return n, nil
}

// NodeCounts counts a cluster's nodes by state.
type NodeCounts struct {
	Total        uint64 `json:"total"`
	Synced       uint64 `json:"synced"`
	Pending      uint64 `json:"pending"`
	Nacked       uint64 `json:"nacked"`
	Disconnected uint64 `json:"disconnected"`
}

// NackSummary is a node's rejection of a version.
type NackSummary struct {
	Node    string `json:"node"`
	Version uint64 `json:"version"`
	Error   string `json:"error"`
}

// Status is a cluster's fleet summary.
type Status struct {
	Cluster        string        `json:"cluster"`
	CurrentVersion uint64        `json:"current_version"`
	Nodes          NodeCounts    `json:"nodes"`
	Nacks          []NackSummary `json:"nacks"`
}

// Status returns the cluster's fleet summary.
func (c *Client) Status(ctx context.Context, cluster string) (*Status, error) {
	var s Status
	if err := c.getJSON(ctx, clusterPath(cluster, "/status"), nil, &s); err != nil {
		return nil, err
	}
	if s.Nacks == nil {
		s.Nacks = []NackSummary{}
	}
	return &s, nil
}
