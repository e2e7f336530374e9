package ctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/pingap-go/pingap/internal/version"
)

// Streams are pingapctl's standard input, output and error.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// Env looks up an environment variable; "" means unset. os.Getenv fits.
type Env func(string) string

// app is one run of pingapctl: its streams, environment, global flags and
// clock.
type app struct {
	streams Streams
	env     Env
	flags   settingsFlags
	now     func() time.Time
	root    *cobra.Command
	// pollInterval is how often --wait polls the fleet status.
	pollInterval time.Duration
}

// Main runs pingapctl with args (without the program name) and returns the
// process exit code (see the Exit* constants).
func Main(args []string, streams Streams, env Env) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := NewRootCmd(streams, env)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if !errors.As(err, &ee) || !ee.Printed {
		_, _ = fmt.Fprintln(streams.Err, "error:", err)
		if !errors.As(err, &ee) {
			// Cobra's own errors: a bad flag, an unknown command.
			_, _ = fmt.Fprintf(streams.Err, "run '%s --help' for usage\n", commandPath(root, args))
		}
	}
	return exitCode(err)
}

// commandPath is the command that args name, for usage hints.
func commandPath(root *cobra.Command, args []string) string {
	if cmd, _, err := root.Find(args); err == nil && cmd != nil {
		return cmd.CommandPath()
	}
	return root.Name()
}

// NewRootCmd builds the pingapctl command tree over streams and env.
func NewRootCmd(streams Streams, env Env) *cobra.Command {
	a := &app{streams: streams, env: env, now: time.Now, pollInterval: 250 * time.Millisecond}
	root := &cobra.Command{
		Use:   "pingapctl",
		Short: "Drive a Pingap-Go fleet: validate, diff, apply and roll back configs, watch the nodes",
		Long: `pingapctl talks to the admin API of a Pingap-Go control plane.

The server, token and cluster come from --server/--token/--cluster, else from
PINGAP_SERVER/PINGAP_TOKEN/PINGAP_CLUSTER, else from the config file
($XDG_CONFIG_HOME/pingapctl/config.toml or --config), else the defaults
(` + DefaultServer + `, cluster ` + DefaultCluster + `).

Exit codes: 0 ok, 1 error, 2 validation failed, 3 conflict (--if-version),
4 the fleet did not converge (--wait).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.Err)
	a.flags.register(root.PersistentFlags())
	a.root = root
	root.AddCommand(a.validateCmd(), a.diffCmd(), a.applyCmd(), a.getCmd(), a.historyCmd(), a.rollbackCmd(),
		a.statusCmd(), a.nodesCmd(), a.versionCmd())
	return root
}

// settings resolves the connection settings of this run.
func (a *app) settings() (Settings, error) {
	return resolveSettings(&a.flags, a.root.PersistentFlags(), a.env)
}

// client returns the API client and the settings it was made from.
func (a *app) client() (*Client, Settings, error) {
	s, err := a.settings()
	if err != nil {
		return nil, s, &ExitError{Code: ExitFailure, Err: err}
	}
	hc, err := s.httpClient()
	if err != nil {
		return nil, s, &ExitError{Code: ExitFailure, Err: err}
	}
	c, err := NewClient(s.Server, WithToken(s.Token), WithHTTPClient(hc), WithUserAgent("pingapctl/"+version.Version))
	if err != nil {
		return nil, s, &ExitError{Code: ExitFailure, Err: err}
	}
	return c, s, nil
}

// outf prints to standard output.
func (a *app) outf(format string, args ...any) {
	_, _ = fmt.Fprintf(a.streams.Out, format, args...)
}

// errf prints to standard error.
func (a *app) errf(format string, args ...any) {
	_, _ = fmt.Fprintf(a.streams.Err, format, args...)
}
