package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/pingap-go/pingap/dataplane/managed"
	"github.com/pingap-go/pingap/dataplane/plugin/builtin"
	"github.com/pingap-go/pingap/dataplane/standalone"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
	"github.com/pingap-go/pingap/internal/version"
)

type dataplaneFlags struct {
	path, logFormat, logLevel string
	controlPlane, cluster     string
	nodeID, cacheDir, token   string
	labels                    []string
	cpuProfile                string
	pprof                     bool
	tls                       ClientTLSFlags
}

// DataplaneCmd is `dataplane`: file mode (--config) or fleet mode
// (--control-plane).
func DataplaneCmd(stderr io.Writer) *cobra.Command {
	var f dataplaneFlags
	cmd := &cobra.Command{
		Use:   "dataplane (--config FILE | --control-plane ADDR)",
		Short: "Run the proxy from a config file (watched; SIGHUP reloads) or from a control plane",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (f.path == "") == (f.controlPlane == "") {
				return errors.New("give exactly one of --config FILE and --control-plane ADDR")
			}
			level := new(slog.LevelVar)
			if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			logger := NewLogger(stderr, f.logFormat, level)
			if f.cpuProfile != "" {
				stopProfile, err := startCPUProfile(f.cpuProfile)
				if err != nil {
					return err
				}
				defer stopProfile()
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			var err error
			if f.controlPlane != "" {
				err = runManaged(ctx, f, logger, level)
			} else {
				err = runFile(ctx, f.path, logger, level, f.pprof)
			}
			if err != nil {
				PrintErr(stderr, err)
			}
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.path, "config", "c", "", "config file (.toml or .json)")
	fl.StringVar(&f.controlPlane, "control-plane", "", "control plane gRPC address (host:port)")
	fl.StringVar(&f.cluster, "cluster", "default", "cluster to join (with --control-plane)")
	fl.StringVar(&f.nodeID, "node-id", "", "node id (default: host name)")
	fl.StringSliceVar(&f.labels, "label", nil, "node label key=value (repeatable)")
	fl.StringVar(&f.cacheDir, "cache-dir", "pingap-cache", "where the last good config from the control plane is cached")
	fl.StringVar(&f.token, "token", os.Getenv("PINGAP_TOKEN"), "bootstrap token for the control plane (env PINGAP_TOKEN)")
	fl.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fl.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.tls.Register(fl, "control-plane")
	fl.BoolVar(&f.pprof, "pprof", false, "serve pprof profiles under /debug/pprof/ on the status port (settings.admin_addr)")
	fl.StringVar(&f.cpuProfile, "cpu-profile", "", "write a CPU profile (pprof) to this file until exit")
	_ = fl.MarkHidden("cpu-profile")
	return cmd
}

func runFile(ctx context.Context, path string, logger *slog.Logger, level *slog.LevelVar, pprofOn bool) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := make(chan struct{})
	go func() {
		for range hup {
			select {
			case reload <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return standalone.Run(ctx, standalone.Options{
		Path: path, Logger: logger, Level: level, Plugins: builtin.Registry(), Reload: reload,
		Registry: NewRegistry(), Pprof: pprofOn,
	})
}

func runManaged(ctx context.Context, f dataplaneFlags, logger *slog.Logger, level *slog.LevelVar) error {
	node := &pb.Node{Id: f.nodeID, Cluster: f.cluster, Labels: map[string]string{}, BuildVersion: version.Version}
	if node.Id == "" {
		node.Id, _ = os.Hostname()
	}
	for _, l := range f.labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return fmt.Errorf("--label %q: want key=value", l)
		}
		node.Labels[k] = v
	}
	tlsCfg, err := f.tls.Config()
	if err != nil {
		return err
	}
	return managed.Run(ctx, managed.Options{
		Addr: f.controlPlane, Node: node, TLS: tlsCfg, Token: f.token, CacheDir: f.cacheDir,
		Logger: logger, Plugins: builtin.Registry(), Registry: NewRegistry(), Pprof: f.pprof, Level: level,
	})
}

// startCPUProfile profiles the process into path until the returned func
// runs.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpu-profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("--cpu-profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); _ = f.Close() }, nil
}
