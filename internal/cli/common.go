package cli

import (
	"errors"
	"fmt"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/plugin/builtin"
	"github.com/pingap-go/pingap/dataplane/runtime"
	"github.com/pingap-go/pingap/internal/version"
)

// ValidateCmd is `validate FILE`: the validator and a dry-run build.
func ValidateCmd(stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a config file; print every error with its place and exit 1 if any",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			snap, _, err := config.Load(args[0])
			if err == nil {
				// Build is the data plane's last word: run it as a dry run.
				var rt *runtime.Runtime
				rt, err = runtime.Build(snap, nil, runtime.Options{Plugins: builtin.Registry()})
				if err == nil {
					rt.Release(nil)
				}
			}
			if err != nil {
				PrintErr(stderr, err)
				return err
			}
			_, _ = fmt.Fprintf(stdout, "%s: ok: %s\n", args[0], config.Summary(snap))
			return nil
		},
	}
}

// VersionCmd prints the build version.
func VersionCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(_ *cobra.Command, _ []string) {
			_, _ = fmt.Fprintf(stdout, "pingap %s\n", version.Version)
		},
	}
}

// PrintErr prints an error list one error per line.
func PrintErr(w io.Writer, err error) {
	var list config.ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			_, _ = fmt.Fprintln(w, e.Error())
		}
		return
	}
	_, _ = fmt.Fprintln(w, "error:", err)
}

// NewRegistry is a metrics registry with the Go runtime's and the
// process's collectors, for one data plane or control plane process.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// NewLogger is a text or JSON slog logger at level (nil: info).
func NewLogger(w io.Writer, format string, level *slog.LevelVar) *slog.Logger {
	opts := &slog.HandlerOptions{}
	if level != nil {
		opts.Level = level
	}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Root is a root command that prints its errors itself (the subcommands
// print theirs with PrintErr) and no usage on error.
func Root(name, short string, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{Use: name, Short: short, SilenceUsage: true, SilenceErrors: true}
	root.SetOut(stdout)
	root.SetErr(stderr)
	return root
}
