package ctl

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// writeFlags are the flags shared by apply and rollback.
type writeFlags struct {
	message, author, output string
	ifVersion               uint64
	wait                    bool
	timeout                 time.Duration
}

func (w *writeFlags) register(cmd *cobra.Command, env Env) {
	fl := cmd.Flags()
	fl.StringVarP(&w.message, "message", "m", "", "why: recorded with the version")
	fl.StringVar(&w.author, "author", env("PINGAP_AUTHOR"),
		"who: recorded with the version (env PINGAP_AUTHOR; default: the control plane's choice, the token's name)")
	fl.Uint64Var(&w.ifVersion, "if-version", 0, "fail with exit code 3 unless the current version is N")
	fl.BoolVar(&w.wait, "wait", false, "wait until every connected node runs the version; exit code 4 when one rejects it or on timeout")
	fl.DurationVar(&w.timeout, "timeout", 60*time.Second, "how long --wait waits")
	fl.StringVarP(&w.output, "output", "o", outTable, "output: table (human) or json")
}

// options are the API options of the flags; ifVersion is set when the
// flag was given.
func (w *writeFlags) options(cmd *cobra.Command) []ApplyOption {
	opts := []ApplyOption{WithAuthor(w.author), WithMessage(w.message)}
	if cmd.Flags().Changed("if-version") {
		opts = append(opts, WithIfVersion(w.ifVersion))
	}
	return opts
}

// applyJSON is the JSON output of apply and rollback.
type applyJSON struct {
	Created        bool         `json:"created"`
	DryRun         bool         `json:"dry_run,omitempty"`
	WouldCreate    bool         `json:"would_create,omitempty"`
	Version        *versionJSON `json:"version,omitempty"`
	CurrentVersion uint64       `json:"current_version,omitempty"`
	Changes        []Change     `json:"changes"`
	Wait           *waitResult  `json:"wait,omitempty"`
}

func (a *app) applyCmd() *cobra.Command {
	var (
		files  []string
		w      writeFlags
		dryRun bool
	)
	cmd := &cobra.Command{
		Use:   "apply -f PATH",
		Short: "Store a config as the cluster's new version; the fleet picks it up",
		Long: `Store a config as the cluster's new version. The control plane validates it
first (errors with files and lines, exit code 2); content equal to the current
version makes no new version (exit code 0). With --if-version N the apply fails
(exit code 3) unless the current version is N. With --wait, pingapctl then
follows the fleet until every connected node runs the version, and fails
(exit code 4) listing the nodes that rejected it, or the nodes not yet synced
at --timeout.`,
		Example: "  pingapctl apply -f config/ -m \"add the shop route\" --wait\n" +
			"  pingapctl apply -f pingap.toml --if-version 7 --dry-run",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(w.output, outTable, outJSON); err != nil {
				return err
			}
			if dryRun && w.wait {
				return withCode(ExitFailure, "--dry-run stores nothing: there is nothing to --wait for")
			}
			c, s, err := a.client()
			if err != nil {
				return err
			}
			snap, src, _, err := a.loadConfig(files, false)
			if err != nil {
				return err
			}
			opts := w.options(cmd)
			if dryRun {
				opts = append(opts, WithDryRun())
			}
			res, err := c.Apply(cmd.Context(), s.Cluster, snap, opts...)
			if err != nil {
				if IsCode(err, "conflict") {
					cur := a.conflictCurrent(cmd, c, s, err)
					return a.conflict(err, w.ifVersion, cur,
						fmt.Sprintf("re-run with --if-version CURRENT after reviewing `pingapctl diff -f %s`", strings.Join(files, " -f ")))
				}
				return a.failure(err, s, src)
			}
			return a.finishWrite(cmd, c, s, &w, res, "applied")
		},
	}
	addFileFlag(cmd, &files)
	w.register(cmd, a.env)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "validate and show what would change; store nothing")
	return cmd
}

// conflictCurrent is the current version after a conflict: from the
// error, else asked for.
func (a *app) conflictCurrent(cmd *cobra.Command, c *Client, s Settings, err error) uint64 {
	var ae *APIError
	if errors.As(err, &ae) && ae.CurrentVersion > 0 {
		return ae.CurrentVersion
	}
	if vs, verr := c.Versions(cmd.Context(), s.Cluster, 1); verr == nil && len(vs) > 0 {
		return vs[0].GetVersion()
	}
	return 0
}

// finishWrite reports an apply or rollback and runs --wait.
func (a *app) finishWrite(cmd *cobra.Command, c *Client, s Settings, w *writeFlags, res *ApplyResult, verb string) error {
	out := applyJSON{Created: res.Created, DryRun: res.DryRun, WouldCreate: res.WouldCreate,
		Version: toVersionJSON(res.Version), CurrentVersion: res.CurrentVersion, Changes: res.Diff}
	if out.Changes == nil {
		out.Changes = []Change{}
	}
	human := w.output != outJSON
	if human {
		a.reportWrite(s, res, verb)
	}
	var werr error
	if w.wait && res.Version != nil {
		out.Wait, werr = a.wait(cmd.Context(), c, s, res.Version.GetVersion(), w.timeout, human)
	}
	if !human {
		if err := writeJSON(a.streams.Out, out); err != nil {
			return err
		}
	}
	return werr
}

// reportWrite prints the result of an apply or rollback for people.
func (a *app) reportWrite(s Settings, res *ApplyResult, verb string) {
	v := res.Version
	switch {
	case res.DryRun && res.WouldCreate:
		a.outf("dry run: would make a new version of cluster %s (current version %d); nothing stored\n", s.Cluster, res.CurrentVersion)
		a.printChanges(res.Diff, "  ")
	case res.DryRun:
		a.outf("dry run: no changes: the config is the same as the current version %d of cluster %s\n", res.CurrentVersion, s.Cluster)
	case res.Created:
		a.outf("%s: cluster %s is now at version %d (%s)\n", verb, s.Cluster, v.GetVersion(), shortHash(v.GetHash()))
		a.printChanges(res.Diff, "  ")
	default:
		a.outf("unchanged: the config is the same as the current version %d (%s) of cluster %s; no new version made\n",
			v.GetVersion(), shortHash(v.GetHash()), s.Cluster)
	}
}
