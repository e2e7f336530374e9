package cli

import (
	"crypto/tls"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/pingap-go/pingap/config"
)

// ClientTLSFlags configure a TLS client (a data plane to the control plane).
type ClientTLSFlags struct {
	CA, Cert, Key, ServerName string
	Enabled                   bool
}

// Register adds the --tls* flags.
func (c *ClientTLSFlags) Register(fl *pflag.FlagSet, what string) {
	fl.BoolVar(&c.Enabled, "tls", false, "connect to the "+what+" with TLS (implied by the other --tls-* flags)")
	fl.StringVar(&c.CA, "tls-ca", "", "CA bundle (PEM file) that signs the "+what+"'s certificate (default: system roots)")
	fl.StringVar(&c.Cert, "tls-cert", "", "client certificate (PEM file) for mutual TLS")
	fl.StringVar(&c.Key, "tls-key", "", "client private key (PEM file) for mutual TLS")
	fl.StringVar(&c.ServerName, "tls-server-name", "", "name to verify in the "+what+"'s certificate (default: its host)")
}

// Config builds the client TLS config; nil for plaintext.
func (c *ClientTLSFlags) Config() (*tls.Config, error) {
	if !c.Enabled && c.CA == "" && c.Cert == "" && c.Key == "" && c.ServerName == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName}
	if c.CA != "" {
		pool, err := config.LoadCertPool(c.CA)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		cfg.RootCAs = pool
	}
	if (c.Cert == "") != (c.Key == "") {
		return nil, fmt.Errorf("--tls-cert and --tls-key go together")
	}
	if c.Cert != "" {
		pair, err := tls.LoadX509KeyPair(c.Cert, c.Key)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// ServerTLSFlags configure a TLS server (the control plane's listeners).
type ServerTLSFlags struct {
	Cert, Key, ClientCA string
}

// Register adds the PREFIXtls-cert, tls-key and client-ca flags.
func (s *ServerTLSFlags) Register(fl *pflag.FlagSet, prefix, what string) {
	fl.StringVar(&s.Cert, prefix+"tls-cert", "", "certificate (PEM file) of the "+what+" listener; enables TLS")
	fl.StringVar(&s.Key, prefix+"tls-key", "", "private key (PEM file) of the "+what+" listener")
	fl.StringVar(&s.ClientCA, prefix+"client-ca", "", "require client certificates signed by this CA (mutual TLS)")
}

// Config builds the server TLS config; nil without a certificate.
func (s *ServerTLSFlags) Config() (*tls.Config, error) {
	if s.Cert == "" && s.Key == "" {
		if s.ClientCA != "" {
			return nil, fmt.Errorf("a client CA needs the listener's own certificate and key")
		}
		return nil, nil
	}
	pair, err := tls.LoadX509KeyPair(s.Cert, s.Key)
	if err != nil {
		return nil, fmt.Errorf("listener certificate: %w", err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}
	if s.ClientCA != "" {
		pool, err := config.LoadCertPool(s.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("client CA: %w", err)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// ReadTokens reads bootstrap tokens, one per line, from a file.
func ReadTokens(path string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--tokens-file: %w", err)
	}
	var out []string
	for line := range strings.Lines(string(data)) {
		if line = strings.TrimSpace(line); line != "" && line[0] != '#' {
			out = append(out, line)
		}
	}
	return out, nil
}
