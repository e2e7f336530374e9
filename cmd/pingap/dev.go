package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/controlplane"
	"github.com/pingap-go/pingap/controlplane/store"
	"github.com/pingap-go/pingap/dataplane/managed"
	"github.com/pingap-go/pingap/dataplane/plugin/builtin"
	"github.com/pingap-go/pingap/examples"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
	"github.com/pingap-go/pingap/internal/cli"
	"github.com/pingap-go/pingap/internal/testbackend"
	"github.com/pingap-go/pingap/internal/version"
)

func newDevCmd(stdout, stderr io.Writer) *cobra.Command {
	var dataDir, configPath string
	var noBackends bool
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "All of it in one process: embedded etcd, a control plane, a data plane, demo backends and an example config",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			err := runDev(ctx, stdout, stderr, dataDir, configPath, !noBackends)
			if err != nil {
				cli.PrintErr(stderr, err)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "state directory (default: a temporary one, removed on exit)")
	cmd.Flags().StringVar(&configPath, "config", "", "config to apply first (default: the built-in quick-start example)")
	cmd.Flags().BoolVar(&noBackends, "no-backends", false, "do not start the demo backends on 127.0.0.1:9001-9003")
	return cmd
}

func runDev(ctx context.Context, stdout, stderr io.Writer, dataDir, configPath string, backends bool) error {
	logger := cli.NewLogger(stderr, "text", nil)
	if dataDir == "" {
		tmp, err := os.MkdirTemp("", "pingap-dev-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dataDir = tmp
	}
	data, name := examples.Quickstart, "examples/quickstart.toml (built in)"
	if configPath != "" {
		b, err := os.ReadFile(configPath)
		if err != nil {
			return err
		}
		data, name = b, configPath
	}
	snap, err := config.ValidateBytes(data, config.FormatFromPath(configPath))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if backends {
		go func() {
			_ = testbackend.Serve(ctx, "api", []string{"127.0.0.1:9001", "127.0.0.1:9002"}, io.Discard)
		}()
		go func() { _ = testbackend.Serve(ctx, "web", []string{"127.0.0.1:9003"}, io.Discard) }()
	}
	cp, err := controlplane.Start(ctx, controlplane.Options{
		DataDir: filepath.Join(dataDir, "controlplane"), Logger: logger, HealthInterval: 5 * time.Second,
		Registry: cli.NewRegistry(), MetricsAddr: "127.0.0.1:0",
	})
	if err != nil {
		return err
	}
	defer cp.Close()
	info, _, err := cp.Store().Apply(ctx, "default", snap, store.ApplyMeta{Author: "pingap dev", Message: "initial config from " + name})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, `
  Pingap-Go dev: embedded etcd, control plane, one data plane, demo backends.
  Config version %d applied from %s.

  curl -i http://127.0.0.1:8080/api/hello                   # through the data plane (X-Request-Id added)
  curl -s http://127.0.0.1:8080/_stats                      # the data plane's statistics (stats plugin)
  curl -s http://127.0.0.1:6100/metrics                     # the data plane's Prometheus metrics
  curl -s http://127.0.0.1:9180/api/v1/clusters/default/nodes     # the fleet, as the control plane sees it
  curl -s http://127.0.0.1:9180/api/v1/clusters/default/versions  # config history
  curl -s -X POST --data-binary @examples/quickstart.toml \
       http://127.0.0.1:9180/api/v1/clusters/default/config       # apply a (changed) config
  %-64s# the control plane's metrics

  Ctrl-C stops everything.

`, info.GetVersion(), name, "curl -s http://"+cp.MetricsAddr()+"/metrics")
	err = managed.Run(ctx, managed.Options{
		Addr:     cp.GRPCAddr(),
		Node:     &pb.Node{Id: "dev", Cluster: "default", BuildVersion: version.Version},
		CacheDir: filepath.Join(dataDir, "dataplane-cache"),
		Logger:   logger, Plugins: builtin.Registry(), Registry: cli.NewRegistry(),
	})
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
