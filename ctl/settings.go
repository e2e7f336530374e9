package ctl

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/spf13/pflag"

	"github.com/pingap-go/pingap/config"
)

// Defaults of the connection settings.
const (
	// DefaultServer is the admin API of a control plane on this machine.
	DefaultServer = "http://127.0.0.1:9180"
	// DefaultCluster is the cluster data planes join by default.
	DefaultCluster = "default"
)

// Settings say which control plane and cluster pingapctl talks to, and
// how. Each comes from, in order of precedence, a flag, an environment
// variable, the config file, or the default.
type Settings struct {
	// Server is the admin API's URL (--server, PINGAP_SERVER, `server`).
	// Default: DefaultServer.
	Server string
	// Token is the bearer token (--token, PINGAP_TOKEN, `token`). Default:
	// none.
	Token string
	// Cluster is the cluster (--cluster, PINGAP_CLUSTER, `cluster`).
	// Default: DefaultCluster.
	Cluster string
	// CA is a PEM file of CA certificates to verify an https server with
	// (--ca, PINGAP_CA, `ca`). Default: the system's roots.
	CA string
	// InsecureSkipVerify skips verifying the server's certificate
	// (--insecure-skip-verify, `insecure_skip_verify`). Default: false.
	InsecureSkipVerify bool
	// File is the config file that was read, "" when none was.
	File string
}

// fileSettings is the config file's schema.
type fileSettings struct {
	Server             string `toml:"server"`
	Token              string `toml:"token"`
	Cluster            string `toml:"cluster"`
	CA                 string `toml:"ca"`
	InsecureSkipVerify bool   `toml:"insecure_skip_verify"`
}

// settingsFlags are the global flags behind Settings.
type settingsFlags struct {
	server, token, cluster, ca, config string
	insecure                           bool
}

func (f *settingsFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.server, "server", "", "admin API URL (env PINGAP_SERVER; default "+DefaultServer+")")
	fl.StringVar(&f.token, "token", "", "admin API bearer token (env PINGAP_TOKEN)")
	fl.StringVar(&f.cluster, "cluster", "", "cluster (env PINGAP_CLUSTER; default "+DefaultCluster+")")
	fl.StringVar(&f.ca, "ca", "", "CA certificates (PEM file) to verify an https server (env PINGAP_CA)")
	fl.BoolVar(&f.insecure, "insecure-skip-verify", false, "do not verify the server's TLS certificate (testing only)")
	fl.StringVar(&f.config, "config", "", "config file (default $XDG_CONFIG_HOME/pingapctl/config.toml)")
}

// defaultConfigFile is $XDG_CONFIG_HOME/pingapctl/config.toml, or
// $HOME/.config/pingapctl/config.toml; "" when neither variable is set.
func defaultConfigFile(env Env) string {
	dir := env("XDG_CONFIG_HOME")
	if dir == "" {
		home := env("HOME")
		if home == "" {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "pingapctl", "config.toml")
}

// resolveSettings applies flag > env > file > default. fl says which flags
// were set on the command line.
func resolveSettings(f *settingsFlags, fl *pflag.FlagSet, env Env) (Settings, error) {
	var file fileSettings
	var s Settings
	path, explicit := f.config, fl.Changed("config")
	if !explicit {
		path = defaultConfigFile(env)
	}
	if path != "" {
		data, err := os.ReadFile(path)
		switch {
		case err == nil:
			dec := toml.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&file); err != nil {
				return s, fileError(path, err)
			}
			s.File = path
		case explicit || !errors.Is(err, fs.ErrNotExist):
			return s, fmt.Errorf("config file: %w", err)
		}
	}
	pick := func(flag, flagValue, envName, fromFile, def string) string {
		if fl.Changed(flag) {
			return flagValue
		}
		if v := env(envName); v != "" {
			return v
		}
		if fromFile != "" {
			return fromFile
		}
		return def
	}
	s.Server = pick("server", f.server, "PINGAP_SERVER", file.Server, DefaultServer)
	s.Token = pick("token", f.token, "PINGAP_TOKEN", file.Token, "")
	s.Cluster = pick("cluster", f.cluster, "PINGAP_CLUSTER", file.Cluster, DefaultCluster)
	s.CA = pick("ca", f.ca, "PINGAP_CA", file.CA, "")
	s.InsecureSkipVerify = file.InsecureSkipVerify
	if fl.Changed("insecure-skip-verify") {
		s.InsecureSkipVerify = f.insecure
	}
	return s, nil
}

// fileError describes a config file decode error with its keys and lines.
func fileError(path string, err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) && len(strict.Errors) > 0 {
		var parts []string
		for _, e := range strict.Errors {
			row, _ := e.Position()
			parts = append(parts, fmt.Sprintf("unknown key %q (line %d)", strings.Join(e.Key(), "."), row))
		}
		return fmt.Errorf("config file %s: %s; the keys are server, token, cluster, ca and insecure_skip_verify",
			path, strings.Join(parts, ", "))
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, _ := de.Position()
		return fmt.Errorf("config file %s: line %d: %s", path, row, de.Error())
	}
	return fmt.Errorf("config file %s: %w", path, err)
}

// httpClient is the HTTP client of the settings: their TLS, no proxy
// surprises beyond the environment's, bounded dials.
func (s Settings) httpClient() (*http.Client, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: s.InsecureSkipVerify} //nolint:gosec // opt-in flag for testing
	if s.CA != "" {
		pool, err := config.LoadCertPool(s.CA)
		if err != nil {
			return nil, fmt.Errorf("--ca: %w", err)
		}
		tlsCfg.RootCAs = pool
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tlsCfg,
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 2,
	}
	return &http.Client{Transport: tr}, nil
}
