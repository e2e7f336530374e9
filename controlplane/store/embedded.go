package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// EmbeddedOptions configures StartEmbedded.
type EmbeddedOptions struct {
	// Name is the etcd member name. Default: "pingap".
	Name string
	// Host is the loopback address the client and peer URLs listen on.
	// Default: "127.0.0.1".
	Host string
	// ClientPort is the port of the client URL. 0 picks a free port.
	ClientPort int
	// PeerPort is the port of the peer URL. 0 picks a free port.
	PeerPort int
	// Logger receives etcd's warnings and errors (and, with Verbose, its
	// info messages). Default: slog.Default().
	Logger *slog.Logger
	// Verbose passes etcd's info messages to Logger too. Default: false,
	// only warnings and errors.
	Verbose bool
	// CompactionRetention is how much key history etcd keeps; older
	// revisions are compacted periodically. Default: 1h. Negative disables
	// compaction (history grows without bound).
	CompactionRetention time.Duration
	// QuotaBackendBytes is the database size limit. Default: etcd's (2 GiB).
	QuotaBackendBytes int64
	// UnsafeNoFsync skips fsync: faster, and a crash may lose or corrupt
	// data. For tests only. Default: false.
	UnsafeNoFsync bool
}

// Embedded is an etcd server running inside this process, a single-member
// cluster with its data in one directory.
type Embedded struct {
	// closing mutes etcd's logs during Close.
	closing   *atomic.Bool
	etcd      *embed.Etcd
	client    *clientv3.Client
	endpoints []string
}

// StartEmbedded starts an embedded single-member etcd with its data in dir
// (created if missing; an existing member's data is reused) and a client
// connected to it, and waits until the server is ready or ctx ends. Client
// and peer URLs listen on loopback only.
func StartEmbedded(ctx context.Context, dir string, opts EmbeddedOptions) (*Embedded, error) {
	if dir == "" {
		return nil, errors.New("store: embedded etcd: no data directory")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: embedded etcd: %w", err)
	}
	// Free ports are found by binding and releasing them, so another
	// process may take one before etcd binds it; then try again.
	var lastErr error
	for range 3 {
		e, err := startEmbedded(ctx, dir, opts)
		if err == nil {
			return e, nil
		}
		lastErr = err
		if ctx.Err() != nil || !isAddrInUse(err) || (opts.ClientPort != 0 && opts.PeerPort != 0) {
			break
		}
	}
	return nil, lastErr
}

func startEmbedded(ctx context.Context, dir string, opts EmbeddedOptions) (*Embedded, error) {
	closing := new(atomic.Bool)
	cfg, err := embedConfig(dir, opts, closing)
	if err != nil {
		return nil, err
	}
	etcd, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("store: embedded etcd: %w", err)
	}
	fail := func(err error) (*Embedded, error) {
		closing.Store(true)
		etcd.Close()
		return nil, err
	}
	select {
	case <-etcd.Server.ReadyNotify():
	case err := <-etcd.Err():
		return fail(fmt.Errorf("store: embedded etcd: %w", err))
	case <-ctx.Done():
		return fail(fmt.Errorf("store: embedded etcd: not ready: %w", ctx.Err()))
	}
	endpoints := make([]string, 0, len(cfg.AdvertiseClientUrls))
	for _, u := range cfg.AdvertiseClientUrls {
		endpoints = append(endpoints, u.String())
	}
	client, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 5 * time.Second,
		Logger:      newZapLogger(opts.Logger, zapcore.WarnLevel),
	})
	if err != nil {
		return fail(fmt.Errorf("store: embedded etcd: client: %w", err))
	}
	return &Embedded{closing: closing, etcd: etcd, client: client, endpoints: endpoints}, nil
}

// benignWarnings are etcd start-up warnings about choices StartEmbedded
// makes on purpose (one port for gRPC and HTTP on loopback, no auth); they
// are logged at debug.
func benignWarnings() map[string]bool {
	return map[string]bool{
		"Running http and grpc server on single port. This is not recommended for production.": true,
		"simple token is not cryptographically signed":                                         true,
	}
}

// startupNoise are messages a fresh etcd may log once while its first
// raft term is not yet on disk; it retries on its own a few seconds later.
// They are logged at debug during startupNoiseWindow after the start, at
// their own level afterwards (when they would mean a real problem).
func startupNoise() map[string]bool {
	return map[string]bool{
		"Failed to detect schema version":  true,
		"failed to update storage version": true,
	}
}

const startupNoiseWindow = 15 * time.Second

func embedConfig(dir string, opts EmbeddedOptions, closing *atomic.Bool) (*embed.Config, error) {
	host := opts.Host
	if host == "" {
		host = "127.0.0.1"
	}
	clientPort, err := portOrFree(host, opts.ClientPort)
	if err != nil {
		return nil, err
	}
	peerPort, err := portOrFree(host, opts.PeerPort)
	if err != nil {
		return nil, err
	}
	clientURL := url.URL{Scheme: "http", Host: net.JoinHostPort(host, strconv.Itoa(clientPort))}
	peerURL := url.URL{Scheme: "http", Host: net.JoinHostPort(host, strconv.Itoa(peerPort))}

	cfg := embed.NewConfig()
	cfg.Name = opts.Name
	if cfg.Name == "" {
		cfg.Name = "pingap"
	}
	cfg.Dir = dir
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.EnableGRPCGateway = false
	// One member on loopback: no peer latency to allow for, and the first
	// election (one election timeout) is most of the start-up time.
	cfg.TickMs, cfg.ElectionMs = 50, 250
	cfg.UnsafeNoFsync = opts.UnsafeNoFsync
	if opts.QuotaBackendBytes > 0 {
		cfg.QuotaBackendBytes = opts.QuotaBackendBytes
	}
	switch {
	case opts.CompactionRetention == 0:
		cfg.AutoCompactionMode = embed.CompactorModePeriodic
		cfg.AutoCompactionRetention = "1h"
	case opts.CompactionRetention > 0:
		cfg.AutoCompactionMode = embed.CompactorModePeriodic
		cfg.AutoCompactionRetention = opts.CompactionRetention.String()
	}
	level := zapcore.WarnLevel
	if opts.Verbose {
		level = zapcore.InfoLevel
	}
	cfg.Logger = "zap"
	cfg.LogLevel = level.String()
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.New(&slogCore{
		h: opts.Logger.Handler(), min: level, demote: benignWarnings(), mute: closing,
		demoteEarly: startupNoise(), early: time.Now().Add(startupNoiseWindow),
	}))
	return cfg, nil
}

// portOrFree returns port, or when it is 0 a port that was free on host a
// moment ago.
func portOrFree(host string, port int) (int, error) {
	if port != 0 {
		return port, nil
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("store: embedded etcd: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func isAddrInUse(err error) bool {
	return errors.Is(err, syscall.EADDRINUSE) || (err != nil && strings.Contains(err.Error(), "address already in use"))
}

// Client returns the client connected to the embedded server; it is closed
// by Close.
func (e *Embedded) Client() *clientv3.Client { return e.client }

// Endpoints returns the server's client URLs, for clients in other
// processes or a Config.Endpoints.
func (e *Embedded) Endpoints() []string { return append([]string(nil), e.endpoints...) }

// Close closes the client and stops the server.
func (e *Embedded) Close() error {
	err := e.client.Close()
	e.closing.Store(true)
	e.etcd.Close()
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("store: embedded etcd: close client: %w", err)
	}
	return nil
}
