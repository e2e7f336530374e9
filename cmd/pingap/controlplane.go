package main

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
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/pingap-go/pingap/controlplane"
	"github.com/pingap-go/pingap/controlplane/admin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
	"github.com/pingap-go/pingap/internal/cli"
	"github.com/pingap-go/pingap/internal/telemetry"
)

type controlplaneFlags struct {
	dataDir, grpcAddr, adminAddr, serverID string
	metricsAddr                            string
	pprof                                  bool
	embeddedEtcdAddr                       string
	etcdEndpoints                          []string
	etcdUser, etcdPassword, tokensFile     string
	adminTokensFile                        string
	logFormat                              string
	healthInterval                         time.Duration
	retention                              int
	grpcTLS, adminTLS                      cli.ServerTLSFlags
	etcdTLS                                cli.ClientTLSFlags
	otlpExporter, otlpProtocol             string
	traceSampleRatio                       float64
}

func newControlplaneCmd(stderr io.Writer) *cobra.Command {
	var f controlplaneFlags
	cmd := &cobra.Command{
		Use:   "controlplane",
		Short: "Run a control-plane replica: config versions in etcd, streamed to data planes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			opts, err := f.options(stderr)
			if err != nil {
				cli.PrintErr(stderr, err)
				return err
			}
			if tp, ok := opts.TracerProvider.(*sdktrace.TracerProvider); ok {
				defer telemetry.Shutdown(tp) // after Close: the last spans are sent
			}
			cp, err := controlplane.Start(ctx, opts)
			if err != nil {
				cli.PrintErr(stderr, err)
				return err
			}
			<-ctx.Done()
			cp.Close()
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.dataDir, "data-dir", "pingap-data", "data directory of the embedded etcd")
	fl.StringVar(&f.otlpExporter, "otlp-exporter", "", "trace admin API requests and pushes to this OTLP collector (host:port or URL)")
	fl.StringVar(&f.otlpProtocol, "otlp-protocol", "grpc", "OTLP protocol: grpc or http")
	fl.Float64Var(&f.traceSampleRatio, "trace-sample-ratio", 1, "share of new traces sampled, 0..1 (a sampled parent is always followed)")
	fl.StringVar(&f.embeddedEtcdAddr, "embedded-etcd-addr", "", "client address of the embedded etcd, for other replicas (default: a free loopback port)")
	fl.StringSliceVar(&f.etcdEndpoints, "etcd-endpoints", nil, "external etcd endpoints (comma list); default: embedded etcd")
	fl.StringVar(&f.etcdUser, "etcd-user", "", "external etcd user name")
	fl.StringVar(&f.etcdPassword, "etcd-password", os.Getenv("PINGAP_ETCD_PASSWORD"), "external etcd password (env PINGAP_ETCD_PASSWORD)")
	fl.StringVar(&f.grpcAddr, "grpc-addr", "127.0.0.1:18000", "discovery listener for data planes")
	fl.StringVar(&f.adminAddr, "admin-addr", "127.0.0.1:9180", "admin HTTP API listener")
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", "listener serving Prometheus metrics at /metrics (default: none)")
	fl.BoolVar(&f.pprof, "pprof", false, "serve pprof profiles under /debug/pprof/ on the --metrics-addr listener")
	fl.StringVar(&f.serverID, "server-id", "", "replica id (default: host name and gRPC address)")
	fl.StringVar(&f.tokensFile, "tokens-file", "", "file of accepted bootstrap tokens for data planes, one per line")
	fl.DurationVar(&f.healthInterval, "health-interval", 10*time.Second, "how often data planes report health")
	fl.IntVar(&f.retention, "retention", 100, "config versions kept per cluster")
	fl.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	f.grpcTLS.Register(fl, "grpc-", "gRPC")
	fl.StringVar(&f.adminTokensFile, "admin-tokens-file", "", "file of admin API bearer tokens, one per line: TOKEN ROLE [NAME], ROLE read or admin (also env PINGAP_ADMIN_TOKENS=token:role[:name],...); none: no authentication")
	f.adminTLS.Register(fl, "admin-", "admin API")
	fl.StringVar(&f.etcdTLS.CA, "etcd-ca", "", "CA bundle of an external etcd")
	fl.StringVar(&f.etcdTLS.Cert, "etcd-cert", "", "client certificate for an external etcd")
	fl.StringVar(&f.etcdTLS.Key, "etcd-key", "", "client key for an external etcd")
	return cmd
}

func (f *controlplaneFlags) options(stderr io.Writer) (controlplane.Options, error) {
	if f.pprof && f.metricsAddr == "" {
		return controlplane.Options{}, errors.New("--pprof needs --metrics-addr: profiles are served on the metrics listener")
	}
	grpcTLS, err := f.grpcTLS.Config()
	if err != nil {
		return controlplane.Options{}, err
	}
	etcdTLS, err := f.etcdTLS.Config()
	if err != nil {
		return controlplane.Options{}, err
	}
	tokens, err := cli.ReadTokens(f.tokensFile)
	if err != nil {
		return controlplane.Options{}, err
	}
	adminTLS, err := f.adminTLS.Config()
	if err != nil {
		return controlplane.Options{}, fmt.Errorf("admin API: %w", err)
	}
	adminTokens, err := admin.ParseTokensEnv(os.Getenv("PINGAP_ADMIN_TOKENS"))
	if err != nil {
		return controlplane.Options{}, fmt.Errorf("PINGAP_ADMIN_TOKENS: %w", err)
	}
	var tp trace.TracerProvider
	if f.otlpExporter != "" {
		cfg := &pb.Tracing{OtlpExporter: f.otlpExporter, Protocol: f.otlpProtocol, SampleRatio: &f.traceSampleRatio}
		if !(f.traceSampleRatio >= 0 && f.traceSampleRatio <= 1) {
			return controlplane.Options{}, fmt.Errorf("--trace-sample-ratio: %v is not between 0 and 1", f.traceSampleRatio)
		}
		sdk, err := telemetry.NewTracerProvider(cfg, telemetry.Options{ServiceName: "pingap-controlplane"})
		if err != nil {
			return controlplane.Options{}, fmt.Errorf("--otlp-exporter: %w", err)
		}
		tp = sdk
	}
	return controlplane.Options{
		TracerProvider: tp,
		DataDir:        f.dataDir, EmbeddedEtcdAddr: f.embeddedEtcdAddr, EtcdEndpoints: f.etcdEndpoints, EtcdTLS: etcdTLS,
		EtcdUsername: f.etcdUser, EtcdPassword: f.etcdPassword,
		GRPCAddr: f.grpcAddr, AdminAddr: f.adminAddr, GRPCTLS: grpcTLS, Tokens: tokens,
		AdminTokensFile: f.adminTokensFile, AdminTokens: adminTokens, AdminTLS: adminTLS,
		ServerID: f.serverID, HealthInterval: f.healthInterval, Retention: f.retention,
		Logger:      cli.NewLogger(stderr, f.logFormat, nil),
		Registry:    cli.NewRegistry(),
		MetricsAddr: f.metricsAddr, Pprof: f.pprof,
	}, nil
}
