package main

import (
	"crypto/tls"
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/pingap-go/pingap/config"
)

// clientTLSFlags configure a TLS client (a data plane to the control plane).
type clientTLSFlags struct {
	ca, cert, key, serverName string
	enabled                   bool
}

func (c *clientTLSFlags) register(fl *pflag.FlagSet, what string) {
	fl.BoolVar(&c.enabled, "tls", false, "connect to the "+what+" with TLS (implied by the other --tls-* flags)")
	fl.StringVar(&c.ca, "tls-ca", "", "CA bundle (PEM file) that signs the "+what+"'s certificate (default: system roots)")
	fl.StringVar(&c.cert, "tls-cert", "", "client certificate (PEM file) for mutual TLS")
	fl.StringVar(&c.key, "tls-key", "", "client private key (PEM file) for mutual TLS")
	fl.StringVar(&c.serverName, "tls-server-name", "", "name to verify in the "+what+"'s certificate (default: its host)")
}

// config is nil for plaintext.
func (c *clientTLSFlags) config() (*tls.Config, error) {
	if !c.enabled && c.ca == "" && c.cert == "" && c.key == "" && c.serverName == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.serverName}
	if c.ca != "" {
		pool, err := config.LoadCertPool(c.ca)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		cfg.RootCAs = pool
	}
	if (c.cert == "") != (c.key == "") {
		return nil, fmt.Errorf("--tls-cert and --tls-key go together")
	}
	if c.cert != "" {
		pair, err := tls.LoadX509KeyPair(c.cert, c.key)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// serverTLSFlags configure a TLS server (the control plane's listeners).
type serverTLSFlags struct {
	cert, key, clientCA string
}

func (s *serverTLSFlags) register(fl *pflag.FlagSet, prefix, what string) {
	fl.StringVar(&s.cert, prefix+"tls-cert", "", "certificate (PEM file) of the "+what+" listener; enables TLS")
	fl.StringVar(&s.key, prefix+"tls-key", "", "private key (PEM file) of the "+what+" listener")
	fl.StringVar(&s.clientCA, prefix+"client-ca", "", "require client certificates signed by this CA (mutual TLS)")
}

func (s *serverTLSFlags) config() (*tls.Config, error) {
	if s.cert == "" && s.key == "" {
		if s.clientCA != "" {
			return nil, fmt.Errorf("a client CA needs the listener's own certificate and key")
		}
		return nil, nil
	}
	pair, err := tls.LoadX509KeyPair(s.cert, s.key)
	if err != nil {
		return nil, fmt.Errorf("listener certificate: %w", err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}
	if s.clientCA != "" {
		pool, err := config.LoadCertPool(s.clientCA)
		if err != nil {
			return nil, fmt.Errorf("client CA: %w", err)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// readTokens reads bootstrap tokens, one per line, from a file.
func readTokens(path string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--tokens-file: %w", err)
	}
	var out []string
	for _, line := range splitLines(string(data)) {
		if line != "" && line[0] != '#' {
			out = append(out, line)
		}
	}
	return out, nil
}
