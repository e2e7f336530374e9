package ctl

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// waitResult is what --wait saw, in JSON output.
type waitResult struct {
	// Converged says every connected node runs the version (or a newer one).
	Converged bool `json:"converged"`
	// Version is the version waited for.
	Version uint64 `json:"version"`
	// Connected and Synced count the cluster's nodes at the end.
	Connected uint64 `json:"connected"`
	Synced    uint64 `json:"synced"`
	// Nacks are the nodes that rejected the version, with their errors.
	Nacks []NackSummary `json:"nacks,omitempty"`
	// NotSynced are the connected nodes not running the version at the
	// timeout.
	NotSynced []string `json:"not_synced,omitempty"`
	// TimedOut says --timeout passed.
	TimedOut bool `json:"timed_out,omitempty"`
	// Elapsed is how long the wait took, in seconds.
	Elapsed float64 `json:"elapsed_seconds"`
}

// wait polls the cluster's status until every connected node runs version
// v or a newer one. It fails with exit code 4 when a node rejected v (once
// no node is pending any more, so that every rejection is listed) or when
// timeout passes. Progress goes to standard error; with human set, the
// outcome is printed too.
func (a *app) wait(ctx context.Context, c *Client, s Settings, v uint64, timeout time.Duration, human bool) (*waitResult, error) {
	start := a.now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res := &waitResult{Version: v}
	var last string
	var lastErr error
	seenNack := map[string]bool{}
	for {
		st, err := c.Status(ctx, s.Cluster)
		if err == nil {
			lastErr = nil
			connected := st.Nodes.Total - st.Nodes.Disconnected
			res.Connected, res.Synced = connected, st.Nodes.Synced
			res.Nacks = res.Nacks[:0]
			for _, n := range st.Nacks {
				if n.Version == v {
					res.Nacks = append(res.Nacks, n)
					if !seenNack[n.Node] {
						seenNack[n.Node] = true
						a.errf("node %s rejected version %d: %s\n", n.Node, v, cell(n.Error, 200))
					}
				}
			}
			line := fmt.Sprintf("waiting for version %d: %d/%d connected nodes synced, %d pending, %d rejected, %d disconnected",
				v, st.Nodes.Synced, connected, st.Nodes.Pending, st.Nodes.Nacked, st.Nodes.Disconnected)
			if line != last {
				a.errf("%s\n", line)
				last = line
			}
			current := st.CurrentVersion
			switch {
			case current >= v && st.Nodes.Pending == 0 && st.Nodes.Nacked == 0 && len(res.Nacks) == 0:
				res.Converged = true
				res.Elapsed = a.now().Sub(start).Seconds()
				if human {
					if connected == 0 {
						a.outf("version %d is current; cluster %s has no connected node to run it\n", v, s.Cluster)
					} else {
						who := fmt.Sprintf("all %d connected nodes", connected)
						if connected == 1 {
							who = "the 1 connected node"
						}
						a.outf("version %d runs on %s of cluster %s (%s)\n", v, who, s.Cluster,
							a.now().Sub(start).Round(time.Millisecond))
					}
				}
				return res, nil
			case len(res.Nacks) > 0 && st.Nodes.Pending == 0:
				res.Elapsed = a.now().Sub(start).Seconds()
				return res, a.rejected(v, res.Nacks)
			}
		} else {
			var ae *APIError
			if errors.As(err, &ae) && (ae.Status == 401 || ae.Status == 403 || ae.Status == 404) {
				a.errf("--wait: cannot read the fleet status:\n")
				return res, a.failure(err, s, nil)
			}
			if lastErr == nil && ctx.Err() == nil {
				a.errf("--wait: reading the fleet status failed, retrying: %v\n", rootCause(err))
			}
			lastErr = err
		}
		select {
		case <-ctx.Done():
			res.Elapsed = a.now().Sub(start).Seconds()
			res.TimedOut = true
			if len(res.Nacks) > 0 {
				return res, a.rejected(v, res.Nacks)
			}
			return res, a.timedOut(c, s, v, timeout, res)
		case <-time.After(a.pollInterval):
		}
	}
}

// rejected reports the nodes that NACKed v.
func (a *app) rejected(v uint64, nacks []NackSummary) error {
	sort.Slice(nacks, func(i, j int) bool { return nacks[i].Node < nacks[j].Node })
	a.errf("error: the fleet did not converge: %d node(s) rejected version %d:\n", len(nacks), v)
	for _, n := range nacks {
		a.errf("  %s: %s\n", n.Node, strings.ReplaceAll(strings.TrimSpace(n.Error), "\n", "\n    "))
	}
	a.errf("those nodes keep serving their previous version; fix the config (or what the nodes lack) and apply again, " +
		"or go back with `pingapctl rollback`\n")
	return printed(ExitNotConverged, fmt.Errorf("%d node(s) rejected version %d", len(nacks), v))
}

// timedOut reports the connected nodes not running v at the timeout.
func (a *app) timedOut(c *Client, s Settings, v uint64, timeout time.Duration, res *waitResult) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nodes, err := c.Nodes(ctx, s.Cluster)
	a.errf("error: the fleet did not converge on version %d within %s\n", v, timeout)
	if err != nil {
		a.errf("(listing the nodes failed too: %v)\n", rootCause(err))
	}
	for _, n := range nodes {
		if !n.GetConnected() || (n.GetState() == pb.NodeState_NODE_STATE_SYNCED && n.GetRunningVersion() >= v) {
			continue
		}
		res.NotSynced = append(res.NotSynced, n.GetNode().GetId())
		a.errf("  %s: %s, runs version %d\n", n.GetNode().GetId(), stateName(n.GetState()), n.GetRunningVersion())
	}
	a.errf("check `pingapctl nodes` and the data planes' logs; wait longer with --timeout\n")
	return printed(ExitNotConverged, fmt.Errorf("not converged on version %d within %s", v, timeout))
}
