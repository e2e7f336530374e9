package ctl

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

func (a *app) statusCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Summarize the cluster's fleet: current version, nodes by state, rejections",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, outTable, outJSON); err != nil {
				return err
			}
			c, s, err := a.client()
			if err != nil {
				return err
			}
			st, err := c.Status(cmd.Context(), s.Cluster)
			if err != nil {
				return a.failure(err, s, nil)
			}
			if st.Cluster == "" {
				st.Cluster = s.Cluster
			}
			if output == outJSON {
				return writeJSON(a.streams.Out, st)
			}
			n := st.Nodes
			a.outf("cluster:  %s\n", st.Cluster)
			if st.CurrentVersion == 0 {
				a.outf("version:  none (apply a config with `pingapctl apply -f PATH`)\n")
			} else {
				a.outf("version:  %d\n", st.CurrentVersion)
			}
			a.outf("nodes:    %d total: %d synced, %d pending, %d nacked, %d disconnected\n",
				n.Total, n.Synced, n.Pending, n.Nacked, n.Disconnected)
			if len(st.Nacks) > 0 {
				a.outf("rejections:\n")
				for _, nk := range st.Nacks {
					a.outf("  %s rejected version %d: %s\n", nk.Node, nk.Version, cell(nk.Error, 200))
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", outTable, "output: table (human) or json")
	return cmd
}

func (a *app) nodesCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "nodes [NODE]",
		Aliases: []string{"node"},
		Short:   "List the cluster's data planes, or show one in detail",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, outTable, outJSON); err != nil {
				return err
			}
			c, s, err := a.client()
			if err != nil {
				return err
			}
			if len(args) == 1 {
				n, err := c.Node(cmd.Context(), s.Cluster, args[0])
				if err != nil {
					if IsCode(err, "not_found") {
						a.errf("error: cluster %s has no node %q: `pingapctl nodes` lists them\n", s.Cluster, args[0])
						return printed(ExitFailure, err)
					}
					return a.failure(err, s, nil)
				}
				if output == outJSON {
					return writeJSON(a.streams.Out, toNodeJSON(n))
				}
				a.printNode(n)
				return nil
			}
			nodes, err := c.Nodes(cmd.Context(), s.Cluster)
			if err != nil {
				return a.failure(err, s, nil)
			}
			sort.Slice(nodes, func(i, j int) bool { return nodes[i].GetNode().GetId() < nodes[j].GetNode().GetId() })
			if output == outJSON {
				out := struct {
					Cluster string     `json:"cluster"`
					Nodes   []nodeJSON `json:"nodes"`
				}{Cluster: s.Cluster, Nodes: []nodeJSON{}}
				for _, n := range nodes {
					out.Nodes = append(out.Nodes, toNodeJSON(n))
				}
				return writeJSON(a.streams.Out, out)
			}
			if len(nodes) == 0 {
				a.errf("cluster %s has no nodes: start one with `pingap dataplane --control-plane ADDR --cluster %s`\n", s.Cluster, s.Cluster)
				return nil
			}
			tw := newTable(a.streams.Out)
			_, _ = fmt.Fprintln(tw, "NODE\tSTATE\tVERSION\tLAST-SEEN\tSERVER\tERROR")
			now := a.now()
			for _, n := range nodes {
				errText := ""
				if n.GetState() == pb.NodeState_NODE_STATE_NACKED {
					errText = n.GetLastNack().GetError()
				}
				_, _ = fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", n.GetNode().GetId(), stateName(n.GetState()),
					n.GetRunningVersion(), age(n.GetLastSeen(), now), cell(n.GetServerId(), 30), cell(errText, 80))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", outTable, "output: table (human) or json")
	return cmd
}

// printNode prints one node in detail.
func (a *app) printNode(n *pb.NodeStatus) {
	now := a.now()
	j := toNodeJSON(n)
	a.outf("node:        %s\n", j.ID)
	a.outf("cluster:     %s\n", j.Cluster)
	if len(j.Labels) > 0 {
		keys := make([]string, 0, len(j.Labels))
		for k := range j.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		pairs := make([]string, 0, len(keys))
		for _, k := range keys {
			pairs = append(pairs, k+"="+j.Labels[k])
		}
		a.outf("labels:      %s\n", strings.Join(pairs, ", "))
	}
	if j.BuildVersion != "" {
		a.outf("build:       %s\n", j.BuildVersion)
	}
	a.outf("state:       %s\n", j.State)
	a.outf("running:     version %d (%s)\n", j.RunningVersion, shortHash(j.RunningHash))
	a.outf("pushed:      version %d\n", j.PushedVersion)
	a.outf("server:      %s\n", cell(j.ServerID, 200))
	a.outf("connected:   %v (since %s ago)\n", j.Connected, age(n.GetConnectedAt(), now))
	a.outf("last seen:   %s ago\n", age(n.GetLastSeen(), now))
	a.outf("last ACK:    %s ago\n", age(n.GetLastAckAt(), now))
	if j.LastNack != nil {
		a.outf("last NACK:   version %d, %s ago:\n  %s\n", j.LastNack.Version, age(n.GetLastNack().GetTime(), now),
			strings.ReplaceAll(strings.TrimSpace(j.LastNack.Error), "\n", "\n  "))
	}
	if h := j.Health; h != nil {
		a.outf("health:      up %.0fs, %d requests, %d errors (report %s ago)\n", h.UptimeSec, h.Requests, h.Errors,
			age(n.GetLastHealth().GetTime(), now))
		for _, u := range h.Upstreams {
			for _, t := range u.Targets {
				state := "healthy"
				switch {
				case t.Ejected:
					state = "ejected"
				case !t.Healthy:
					state = "unhealthy"
				}
				a.outf("  upstream %s %s: %s\n", u.Name, t.Addr, state)
			}
		}
	}
}
