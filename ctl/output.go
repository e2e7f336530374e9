package ctl

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Output formats of -o.
const (
	outTable = "table"
	outJSON  = "json"
	outTOML  = "toml"
)

// checkOutput fails unless format is one of allowed.
func checkOutput(format string, allowed ...string) error {
	for _, a := range allowed {
		if format == a {
			return nil
		}
	}
	return withCode(ExitFailure, "-o %q: want one of %s", format, strings.Join(allowed, ", "))
}

// writeJSON writes v as indented JSON and a newline.
func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding JSON: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// newTable is a tab-separated table writer; call Flush.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
}

// age renders how long ago t was: "45s", "12m", "3h", "5d"; "-" for none.
func age(t *timestamppb.Timestamp, now time.Time) string {
	if t == nil || !t.IsValid() || t.AsTime().IsZero() {
		return "-"
	}
	d := now.Sub(t.AsTime())
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}

// shortHash is the first 12 hex digits of a "sha256:..." hash.
func shortHash(h string) string {
	_, hex, ok := strings.Cut(h, ":")
	if !ok {
		hex = h
	}
	if len(hex) > 12 {
		hex = hex[:12]
	}
	return hex
}

// cell makes s fit a table cell: its first line, at most n runes, "-" when
// empty.
func cell(s string, n int) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	s = strings.ReplaceAll(s, "\t", " ")
	if s == "" {
		return "-"
	}
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// timeJSON renders a timestamp as RFC 3339 ("" for none).
func timeJSON(t *timestamppb.Timestamp) string {
	if t == nil || !t.IsValid() || t.AsTime().IsZero() {
		return ""
	}
	return t.AsTime().UTC().Format(time.RFC3339Nano)
}

// versionJSON is a version in pingapctl's JSON output.
type versionJSON struct {
	Version    uint64 `json:"version"`
	Hash       string `json:"hash"`
	Author     string `json:"author"`
	Message    string `json:"message"`
	CreatedAt  string `json:"created_at,omitempty"`
	Parent     uint64 `json:"parent"`
	RollbackOf uint64 `json:"rollback_of,omitempty"`
}

func toVersionJSON(v *pb.VersionInfo) *versionJSON {
	if v == nil {
		return nil
	}
	return &versionJSON{Version: v.GetVersion(), Hash: v.GetHash(), Author: v.GetAuthor(), Message: v.GetMessage(),
		CreatedAt: timeJSON(v.GetCreatedAt()), Parent: v.GetParent(), RollbackOf: v.GetRollbackOf()}
}

// stateName is a node state without its prefix: "SYNCED".
func stateName(s pb.NodeState) string {
	return strings.TrimPrefix(s.String(), "NODE_STATE_")
}

// nackJSON is a rejection in pingapctl's JSON output.
type nackJSON struct {
	Version uint64 `json:"version"`
	Error   string `json:"error"`
	Time    string `json:"time,omitempty"`
}

// nodeJSON is a node in pingapctl's JSON output.
type nodeJSON struct {
	ID             string            `json:"id"`
	Cluster        string            `json:"cluster"`
	Labels         map[string]string `json:"labels,omitempty"`
	BuildVersion   string            `json:"build_version,omitempty"`
	State          string            `json:"state"`
	Connected      bool              `json:"connected"`
	RunningVersion uint64            `json:"running_version"`
	RunningHash    string            `json:"running_hash,omitempty"`
	PushedVersion  uint64            `json:"pushed_version"`
	LastAckAt      string            `json:"last_ack_at,omitempty"`
	LastSeen       string            `json:"last_seen,omitempty"`
	ConnectedAt    string            `json:"connected_at,omitempty"`
	ServerID       string            `json:"server_id,omitempty"`
	LastNack       *nackJSON         `json:"last_nack,omitempty"`
	Health         *healthJSON       `json:"health,omitempty"`
}

// healthJSON is a node's last health report.
type healthJSON struct {
	Time      string         `json:"time,omitempty"`
	UptimeSec float64        `json:"uptime_seconds"`
	Requests  uint64         `json:"requests"`
	Errors    uint64         `json:"errors"`
	Upstreams []upstreamJSON `json:"upstreams,omitempty"`
}

type upstreamJSON struct {
	Name    string       `json:"name"`
	Targets []targetJSON `json:"targets"`
}

type targetJSON struct {
	Addr    string `json:"addr"`
	Healthy bool   `json:"healthy"`
	Ejected bool   `json:"ejected,omitempty"`
}

func toNodeJSON(n *pb.NodeStatus) nodeJSON {
	out := nodeJSON{
		ID: n.GetNode().GetId(), Cluster: n.GetNode().GetCluster(), Labels: n.GetNode().GetLabels(),
		BuildVersion: n.GetNode().GetBuildVersion(), State: stateName(n.GetState()), Connected: n.GetConnected(),
		RunningVersion: n.GetRunningVersion(), RunningHash: n.GetRunningHash(), PushedVersion: n.GetPushedVersion(),
		LastAckAt: timeJSON(n.GetLastAckAt()), LastSeen: timeJSON(n.GetLastSeen()), ConnectedAt: timeJSON(n.GetConnectedAt()),
		ServerID: n.GetServerId(),
	}
	if ln := n.GetLastNack(); ln != nil {
		out.LastNack = &nackJSON{Version: ln.GetVersion(), Error: ln.GetError(), Time: timeJSON(ln.GetTime())}
	}
	if h := n.GetLastHealth(); h != nil {
		hj := &healthJSON{Time: timeJSON(h.GetTime()), UptimeSec: h.GetUptime().AsDuration().Seconds(),
			Requests: h.GetRequests(), Errors: h.GetErrors()}
		for _, u := range h.GetUpstreams() {
			uj := upstreamJSON{Name: u.GetName(), Targets: []targetJSON{}}
			for _, tg := range u.GetTargets() {
				uj.Targets = append(uj.Targets, targetJSON{Addr: tg.GetAddr(), Healthy: tg.GetHealthy(), Ejected: tg.GetEjected()})
			}
			hj.Upstreams = append(hj.Upstreams, uj)
		}
		out.Health = hj
	}
	return out
}
