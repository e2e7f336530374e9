package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseHealthCheck(t *testing.T) {
	t.Parallel()
	def := func(hc HealthCheck) *HealthCheck {
		if hc.ConnectionTimeout == 0 {
			hc.ConnectionTimeout = 3 * time.Second
		}
		if hc.ReadTimeout == 0 {
			hc.ReadTimeout = 3 * time.Second
		}
		if hc.CheckFrequency == 0 {
			hc.CheckFrequency = 10 * time.Second
		}
		if hc.Success == 0 {
			hc.Success = 1
		}
		if hc.Failure == 0 {
			hc.Failure = 2
		}
		return &hc
	}
	tests := []struct {
		desc, in string
		want     *HealthCheck
	}{
		{desc: "empty: no check", in: "", want: nil},
		{desc: "tcp defaults", in: "tcp://api", want: def(HealthCheck{Scheme: "tcp", Host: "api"})},
		{desc: "tcp trailing slash", in: "tcp://api/", want: def(HealthCheck{Scheme: "tcp", Host: "api"})},
		{desc: "http defaults", in: "http://api/ping", want: def(HealthCheck{Scheme: "http", Host: "api", Path: "/ping"})},
		{desc: "http no path", in: "http://api", want: def(HealthCheck{Scheme: "http", Host: "api", Path: "/"})},
		{desc: "https with port", in: "https://api.example.com:8443/healthz", want: def(HealthCheck{Scheme: "https", Host: "api.example.com:8443", Port: 8443, Path: "/healthz"})},
		{desc: "ipv6 host", in: "http://[::1]:81/", want: def(HealthCheck{Scheme: "http", Host: "[::1]:81", Port: 81, Path: "/"})},
		{desc: "all parameters", in: "http://api/ping?connection_timeout=1s&read_timeout=250ms&check_frequency=2m&success=3&failure=4&reuse=true",
			want: def(HealthCheck{Scheme: "http", Host: "api", Path: "/ping", ConnectionTimeout: time.Second, ReadTimeout: 250 * time.Millisecond,
				CheckFrequency: 2 * time.Minute, Success: 3, Failure: 4, Reuse: true})},
		{desc: "humantime duration", in: "tcp://api?check_frequency=1min%2030s", want: def(HealthCheck{Scheme: "tcp", Host: "api", CheckFrequency: 90 * time.Second})},
		{desc: "reuse false", in: "tcp://api?reuse=false", want: def(HealthCheck{Scheme: "tcp", Host: "api"})},
		{desc: "other query kept in path", in: "http://api/status?full=1&check_frequency=1s&x=%2F", want: def(HealthCheck{Scheme: "http", Host: "api", Path: "/status?full=1&x=%2F", CheckFrequency: time.Second})},
		{desc: "escaped path kept", in: "http://api/a%20b", want: def(HealthCheck{Scheme: "http", Host: "api", Path: "/a%20b"})},
		{desc: "grpc service", in: "grpc://api?service=pkg.Svc", want: def(HealthCheck{Scheme: "grpc", Host: "api", Service: "pkg.Svc"})},
		{desc: "grpc empty service", in: "grpc://api:50051?service=", want: def(HealthCheck{Scheme: "grpc", Host: "api:50051", Port: 50051})},
		{desc: "empty pairs ignored", in: "tcp://api?&failure=3&", want: def(HealthCheck{Scheme: "tcp", Host: "api", Failure: 3})},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			got, err := ParseHealthCheck(tt.in)
			if err != nil {
				t.Fatalf("ParseHealthCheck(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseHealthCheck(%q) =\n %+v\nwant\n %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseHealthCheckErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, in string
		err      string // the error after `invalid health check "IN": `
	}{
		{desc: "no scheme", in: "api/ping", err: `want scheme://host[:port][/path][?parameters], as in "http://api/ping"`},
		{desc: "host:port only", in: "api:80", err: `want scheme://host[:port][/path][?parameters]`},
		{desc: "unknown scheme", in: "udp://api", err: `unknown scheme "udp": want tcp, http, https or grpc`},
		{desc: "missing host", in: "http:///ping", err: "missing host"},
		{desc: "bad host", in: "http://a$b/", err: `"a$b" is not a host name or IP address`},
		{desc: "port zero", in: "tcp://api:0", err: `port must be 1..65535, got "0"`},
		{desc: "port too large", in: "tcp://api:70000", err: `port must be 1..65535, got "70000"`},
		{desc: "empty port", in: "tcp://api:", err: `empty port after ":"`},
		{desc: "user info", in: "http://u:p@api/", err: "user info is not supported"},
		{desc: "fragment", in: "http://api/#x", err: "a fragment (#) is not supported"},
		{desc: "tcp path", in: "tcp://api/ping", err: `a path ("/ping") is only used by http and https checks`},
		{desc: "grpc path", in: "grpc://api/x", err: `a path ("/x") is only used by http and https checks`},
		{desc: "bad duration", in: "tcp://api?connection_timeout=3", err: `parameter connection_timeout: invalid duration "3": missing unit after 3`},
		{desc: "zero duration", in: "tcp://api?read_timeout=0s", err: `parameter read_timeout: must be positive, got "0s"`},
		{desc: "negative frequency", in: "tcp://api?check_frequency=-1s", err: `parameter check_frequency: invalid duration "-1s": negative`},
		{desc: "success zero", in: "tcp://api?success=0", err: `parameter success: want an integer 1..1000, got "0"`},
		{desc: "failure text", in: "tcp://api?failure=two", err: `parameter failure: want an integer 1..1000, got "two"`},
		{desc: "failure too large", in: "tcp://api?failure=1001", err: `parameter failure: want an integer 1..1000, got "1001"`},
		{desc: "reuse yes", in: "http://api/?reuse=yes", err: `parameter reuse: want true or false, got "yes"`},
		{desc: "service on http", in: "http://api/?service=x", err: "parameter service: only grpc checks have a service"},
		{desc: "twice", in: "tcp://api?success=1&success=2", err: "parameter success given twice"},
		{desc: "typo on http", in: "http://api/?check_frequncy=1s", err: `unknown parameter "check_frequncy" (did you mean "check_frequency"?)`},
		{desc: "unknown on tcp", in: "tcp://api?full=1", err: `unknown parameter "full": want connection_timeout`},
		{desc: "unknown on grpc", in: "grpc://api?foo=1", err: `unknown parameter "foo"`},
		{desc: "bad escape", in: "tcp://api?success=%zz", err: `parameter success: bad escape in "%zz"`},
		{desc: "bad escape in key", in: "tcp://api?%zz=1", err: `invalid query parameter "%zz=1": bad escape`},
		{desc: "bad escape in path", in: "http://api/%zz", err: `invalid URL escape "%zz"`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			got, err := ParseHealthCheck(tt.in)
			prefix := `invalid health check "` + tt.in + `": `
			if err == nil || !strings.HasPrefix(err.Error(), prefix+tt.err) {
				t.Errorf("ParseHealthCheck(%q) = %+v, %v\nwant error %q", tt.in, got, err, prefix+tt.err)
			}
			if got != nil {
				t.Errorf("ParseHealthCheck(%q) returned a check with an error", tt.in)
			}
		})
	}
}

func FuzzParseHealthCheck(f *testing.F) {
	for _, s := range []string{"tcp://api", "http://api/ping?check_frequency=1s&x=1", "grpc://[::1]:9?service=a", "https://a:1/%zz?reuse=true#"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		hc, err := ParseHealthCheck(s)
		if err != nil {
			if hc != nil {
				t.Fatal("check and error")
			}
			return
		}
		if s == "" {
			if hc != nil {
				t.Fatal("check for the empty string")
			}
			return
		}
		if hc.Host == "" || hc.Success < 1 || hc.Failure < 1 || hc.CheckFrequency <= 0 || hc.ConnectionTimeout <= 0 || hc.ReadTimeout <= 0 {
			t.Fatalf("invalid result %+v for %q", hc, s)
		}
		if (hc.Scheme == "http" || hc.Scheme == "https") != strings.HasPrefix(hc.Path, "/") {
			t.Fatalf("path %q for scheme %s", hc.Path, hc.Scheme)
		}
	})
}
