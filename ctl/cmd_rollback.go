package ctl

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) rollbackCmd() *cobra.Command {
	var (
		w  writeFlags
		to uint64
	)
	cmd := &cobra.Command{
		Use:   "rollback [--to N]",
		Short: "Make a new version with the content of an older one (default: the previous version)",
		Long: `Make a new version of the cluster with the content of version N (default: the
version that was current before the current one). History is kept: the
rollback is a version of its own. Without --to, the rollback also fails (exit
code 3) if someone applied meanwhile, as if --if-version named the version it
read.`,
		Example: "  pingapctl rollback --wait\n  pingapctl rollback --to 3 -m \"back to the last good config\"",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(w.output, outTable, outJSON); err != nil {
				return err
			}
			c, s, err := a.client()
			if err != nil {
				return err
			}
			opts := w.options(cmd)
			asked := w.ifVersion
			if !cmd.Flags().Changed("to") {
				vs, err := c.Versions(cmd.Context(), s.Cluster, 1)
				if err != nil {
					return a.failure(err, s, nil)
				}
				if len(vs) == 0 || vs[0].GetParent() == 0 {
					a.errf("error: cluster %s has no previous version to roll back to; give one with --to N (see `pingapctl history`)\n", s.Cluster)
					return printed(ExitFailure, fmt.Errorf("no previous version"))
				}
				to = vs[0].GetParent()
				if !cmd.Flags().Changed("if-version") {
					asked = vs[0].GetVersion()
					opts = append(opts, WithIfVersion(asked))
				}
			}
			res, err := c.Rollback(cmd.Context(), s.Cluster, to, opts...)
			if err != nil {
				switch {
				case IsCode(err, "conflict"):
					return a.conflict(err, asked, a.conflictCurrent(cmd, c, s, err),
						"check `pingapctl history`, then re-run with --if-version CURRENT")
				case IsCode(err, "not_found"):
					a.errf("error: version %d of cluster %s does not exist (or was pruned): `pingapctl history` lists the versions\n", to, s.Cluster)
					return printed(ExitFailure, err)
				}
				return a.failure(err, s, nil)
			}
			return a.finishWrite(cmd, c, s, &w, res, fmt.Sprintf("rolled back to the content of version %d", to))
		},
	}
	w.register(cmd, a.env)
	cmd.Flags().Uint64Var(&to, "to", 0, "the version whose content to restore (default: the previous version)")
	return cmd
}
