package ctl

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pingap-go/pingap/config"
)

func (a *app) diffCmd() *cobra.Command {
	var (
		files    []string
		output   string
		exitCode bool
		from, to uint64
	)
	cmd := &cobra.Command{
		Use:   "diff (-f PATH | --from N [--to M])",
		Short: "Show what applying a config would change, or what changed between two versions",
		Long: `With -f, show what applying the config would change in the cluster's current
version (the control plane computes the diff). With --from (and --to, default
the current version), show what changed between two versions.

The exit code is 0 whether or not there are changes; with --exit-code it is 1
when there are changes, as with 'git diff --exit-code'.`,
		Example: "  pingapctl diff -f config/\n  pingapctl diff --from 3 --to 5",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, outTable, outJSON); err != nil {
				return err
			}
			if (len(files) > 0) == cmd.Flags().Changed("from") {
				return withCode(ExitFailure, "give either -f PATH (a candidate config) or --from N (two versions)")
			}
			c, s, err := a.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var d *Diff
			if len(files) > 0 {
				snap, src, _, lerr := a.loadConfig(files, false)
				if lerr != nil {
					return lerr
				}
				if d, err = c.DiffCandidate(ctx, s.Cluster, snap); err != nil {
					return a.failure(err, s, src)
				}
			} else {
				if to == 0 {
					if to, err = a.currentVersion(cmd, c, s); err != nil {
						return err
					}
				}
				if d, err = c.Diff(ctx, s.Cluster, from, to); err != nil {
					return a.failure(err, s, nil)
				}
			}
			if output == outJSON {
				if d.Changes == nil {
					d.Changes = []Change{}
				}
				if err := writeJSON(a.streams.Out, d); err != nil {
					return err
				}
			} else {
				a.printDiff(d, len(files) > 0)
			}
			if exitCode && len(d.Changes) > 0 {
				return printed(ExitFailure, errChanges)
			}
			return nil
		},
	}
	addFileFlag(cmd, &files)
	fl := cmd.Flags()
	fl.Uint64Var(&from, "from", 0, "compare version N ...")
	fl.Uint64Var(&to, "to", 0, "... with version M (default: the current version)")
	fl.BoolVar(&exitCode, "exit-code", false, "exit with 1 when there are changes, 0 when there are none")
	fl.StringVarP(&output, "output", "o", outTable, "output: table (the text diff) or json")
	return cmd
}

// printDiff prints a diff for people: the text diff, or the list of
// changes when the API sent no text.
func (a *app) printDiff(d *Diff, candidate bool) {
	if len(d.Changes) == 0 && strings.TrimSpace(d.Text) == "" {
		if candidate {
			a.errf("no changes: the config is the same as the current version %d\n", d.From)
		} else {
			a.errf("no changes between version %d and version %d\n", d.From, d.To)
		}
		return
	}
	if text := d.Text; strings.TrimSpace(text) != "" {
		if !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
		a.outf("%s", text)
		return
	}
	a.printChanges(d.Changes, "")
}

// printChanges prints one line per changed object: "+ upstreams.api",
// "~ locations.web: path, upstream", "- servers.old".
func (a *app) printChanges(changes []Change, indent string) {
	for _, ch := range changes {
		mark := "~"
		switch ch.Op {
		case "added":
			mark = "+"
		case "removed":
			mark = "-"
		}
		name := ch.Kind
		if ch.Name != "" {
			name += "." + ch.Name
		}
		line := fmt.Sprintf("%s%s %s", indent, mark, name)
		if ch.Op == config.OpChanged && len(ch.Fields) > 0 {
			paths := make([]string, 0, len(ch.Fields))
			for _, f := range ch.Fields {
				paths = append(paths, f.Path)
			}
			line += ": " + strings.Join(paths, ", ")
		}
		a.outf("%s\n", line)
	}
}

// currentVersion asks the control plane for the cluster's current version.
func (a *app) currentVersion(cmd *cobra.Command, c *Client, s Settings) (uint64, error) {
	vs, err := c.Versions(cmd.Context(), s.Cluster, 1)
	if err != nil {
		return 0, a.failure(err, s, nil)
	}
	if len(vs) == 0 {
		a.errf("error: cluster %q has no version yet: apply a config first (pingapctl apply -f PATH)\n", s.Cluster)
		return 0, printed(ExitFailure, fmt.Errorf("cluster %q has no version", s.Cluster))
	}
	return vs[0].GetVersion(), nil
}
