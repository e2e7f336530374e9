package config

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults of the health_check parameters (Pingap's).
const (
	DefaultHealthCheckConnectionTimeout = 3 * time.Second
	DefaultHealthCheckReadTimeout       = 3 * time.Second
	DefaultHealthCheckFrequency         = 10 * time.Second
	DefaultHealthCheckSuccess           = 1
	DefaultHealthCheckFailure           = 2
)

// maxHealthCheckThreshold bounds the success and failure parameters.
const maxHealthCheckThreshold = 1000

// HealthCheck is a parsed upstream health_check.
type HealthCheck struct {
	// Scheme is "tcp", "http", "https" or "grpc".
	Scheme string
	// Host is the URL's host, with its port when the URL has one, as written:
	// the Host header of HTTP checks and the :authority of gRPC checks.
	Host string
	// Port, when not zero, is the port probed on every target instead of the
	// target's own port: the port of the URL's host.
	Port int
	// Path is the request target of HTTP checks: the URL's path ("/" when it
	// has none) and the query parameters that are not check parameters. It is
	// empty for tcp and grpc.
	Path string
	// ConnectionTimeout bounds connecting to a target (TCP, and the TLS
	// handshake). Parameter connection_timeout; default 3s.
	ConnectionTimeout time.Duration
	// ReadTimeout bounds the wait for the answer once connected. Parameter
	// read_timeout; default 3s. Unused by tcp.
	ReadTimeout time.Duration
	// CheckFrequency is the interval between two probes of a target.
	// Parameter check_frequency; default 10s.
	CheckFrequency time.Duration
	// Success is the number of consecutive passes that make an unhealthy
	// target healthy. Parameter success, 1..1000; default 1.
	Success int
	// Failure is the number of consecutive failures that make a healthy
	// target unhealthy. Parameter failure, 1..1000; default 2.
	Failure int
	// Reuse keeps the connection to a target open between probes (HTTP
	// keep-alive, one gRPC connection). Parameter reuse, true or false;
	// default false: every probe connects anew, so it also checks the
	// handshake. Unused by tcp.
	Reuse bool
	// Service is the gRPC service name sent in the health check request;
	// empty asks about the server as a whole. Parameter service, grpc only.
	Service string
}

// healthCheckSchemes are the schemes ParseHealthCheck accepts.
var healthCheckSchemes = map[string]bool{"tcp": true, "http": true, "https": true, "grpc": true}

// healthCheckParams are the query parameters a check consumes, with the
// function that stores each in a HealthCheck.
var healthCheckParams = map[string]func(hc *HealthCheck, v string) error{
	"connection_timeout": func(hc *HealthCheck, v string) error { return positiveDuration(v, &hc.ConnectionTimeout) },
	"read_timeout":       func(hc *HealthCheck, v string) error { return positiveDuration(v, &hc.ReadTimeout) },
	"check_frequency":    func(hc *HealthCheck, v string) error { return positiveDuration(v, &hc.CheckFrequency) },
	"success":            func(hc *HealthCheck, v string) error { return threshold(v, &hc.Success) },
	"failure":            func(hc *HealthCheck, v string) error { return threshold(v, &hc.Failure) },
	"reuse":              reuseParam,
	"service":            serviceParam,
}

// ParseHealthCheck parses an upstream's health_check in Pingap's URL syntax,
// scheme://host[:port][/path][?parameters], for example
// "http://api/ping?check_frequency=5s&failure=3". It returns nil and no error
// for the empty string (no active checks). Parameters that are not check
// parameters stay in an HTTP check's request path; for tcp and grpc, and when
// a name is close to a check parameter's (a likely typo), they are errors.
func ParseHealthCheck(s string) (*HealthCheck, error) {
	if s == "" {
		return nil, nil
	}
	hc, err := parseHealthCheck(s)
	if err != nil {
		return nil, fmt.Errorf("invalid health check %q: %w", s, err)
	}
	return hc, nil
}

func parseHealthCheck(s string) (*HealthCheck, error) {
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, err
	}
	if u.Scheme == "" || u.Opaque != "" {
		return nil, errors.New(`want scheme://host[:port][/path][?parameters], as in "http://api/ping"`)
	}
	if !healthCheckSchemes[u.Scheme] {
		return nil, fmt.Errorf("unknown scheme %q: want tcp, http, https or grpc", u.Scheme)
	}
	if u.User != nil {
		return nil, errors.New("user info is not supported")
	}
	if u.Fragment != "" || strings.HasSuffix(s, "#") {
		return nil, errors.New("a fragment (#) is not supported")
	}
	hc := &HealthCheck{
		Scheme:            u.Scheme,
		Host:              u.Host,
		ConnectionTimeout: DefaultHealthCheckConnectionTimeout,
		ReadTimeout:       DefaultHealthCheckReadTimeout,
		CheckFrequency:    DefaultHealthCheckFrequency,
		Success:           DefaultHealthCheckSuccess,
		Failure:           DefaultHealthCheckFailure,
	}
	if err := hc.setHost(u); err != nil {
		return nil, err
	}
	rest, err := hc.setParams(u.RawQuery)
	if err != nil {
		return nil, err
	}
	return hc, hc.setPath(u, rest)
}

func (hc *HealthCheck) setHost(u *url.URL) error {
	host := u.Hostname()
	if host == "" {
		return errors.New("missing host (the Host header or :authority of the checks, as in \"http://api/ping\")")
	}
	if !validHost(host) {
		return fmt.Errorf("%q is not a host name or IP address", host)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port must be 1..65535, got %q", p)
		}
		hc.Port = n
	} else if strings.HasSuffix(u.Host, ":") {
		return errors.New("empty port after \":\"")
	}
	return nil
}

// setParams applies the check parameters of a raw query and returns the
// other pairs, raw and in order.
func (hc *HealthCheck) setParams(rawQuery string) ([]string, error) {
	var rest []string
	seen := map[string]bool{}
	for _, pair := range strings.Split(rawQuery, "&") {
		if pair == "" {
			continue
		}
		rawKey, rawVal, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil {
			return nil, fmt.Errorf("invalid query parameter %q: bad escape", pair)
		}
		set, ok := healthCheckParams[key]
		if !ok {
			if hint := suggestParam(key); hint != "" || hc.Scheme == "tcp" || hc.Scheme == "grpc" {
				return nil, fmt.Errorf("unknown parameter %q%s: want connection_timeout, read_timeout, check_frequency, success, failure, reuse or service", key, hint)
			}
			rest = append(rest, pair)
			continue
		}
		if seen[key] {
			return nil, fmt.Errorf("parameter %s given twice", key)
		}
		seen[key] = true
		val, err := url.QueryUnescape(rawVal)
		if err != nil {
			return nil, fmt.Errorf("parameter %s: bad escape in %q", key, rawVal)
		}
		if err := set(hc, val); err != nil {
			return nil, fmt.Errorf("parameter %s: %w", key, err)
		}
	}
	return rest, nil
}

func (hc *HealthCheck) setPath(u *url.URL, rest []string) error {
	path := u.EscapedPath()
	if hc.Scheme == "tcp" || hc.Scheme == "grpc" {
		if path != "" && path != "/" {
			return fmt.Errorf("a path (%q) is only used by http and https checks", path)
		}
		return nil
	}
	if path == "" {
		path = "/"
	}
	if len(rest) > 0 {
		path += "?" + strings.Join(rest, "&")
	}
	hc.Path = path
	return nil
}

// suggestParam returns ` (did you mean "x"?)` when key is within two edits
// of a check parameter's name.
func suggestParam(key string) string {
	return suggestWithin(key, slices.Sorted(maps.Keys(healthCheckParams)), 2)
}

func positiveDuration(v string, dst *time.Duration) error {
	d, err := ParseDuration(v)
	if err != nil {
		return err
	}
	if d <= 0 {
		return fmt.Errorf("must be positive, got %q", v)
	}
	*dst = d
	return nil
}

func threshold(v string, dst *int) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxHealthCheckThreshold {
		return fmt.Errorf("want an integer 1..%d, got %q", maxHealthCheckThreshold, v)
	}
	*dst = n
	return nil
}

func reuseParam(hc *HealthCheck, v string) error {
	switch v {
	case "true":
		hc.Reuse = true
	case "false":
		hc.Reuse = false
	default:
		return fmt.Errorf("want true or false, got %q", v)
	}
	return nil
}

func serviceParam(hc *HealthCheck, v string) error {
	if hc.Scheme != "grpc" {
		return fmt.Errorf("only grpc checks have a service")
	}
	hc.Service = v
	return nil
}
