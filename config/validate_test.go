package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
	"github.com/pingap-go/pingap/internal/testcert"
)

// validationErrors decodes a TOML config (which must decode) and returns
// its validation errors as text.
func validationErrors(t *testing.T, in string) string {
	t.Helper()
	s, src, err := Decode([]byte(in), FormatTOML)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return errString(Validate(s, src))
}

// base is a valid config the validation cases add to.
const base = `[upstreams.api]
addrs = ["127.0.0.1:9001"]

[locations.api]
upstream = "api"

[servers.web]
addr = "127.0.0.1:8080"
locations = ["api"]

`

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, in, want string
	}{
		{desc: "valid", in: base},
		{desc: "example", in: exampleTOML},
		{desc: "empty config", in: ""},
		// object names
		{desc: "name with space", in: base + "[plugins.\"a b\"]\ncategory = \"ping\"\n",
			want: `plugins."a b" (line 11): invalid name: contains whitespace or control characters`},
		{desc: "empty name", in: base + "[plugins.\"\"]\ncategory = \"ping\"\n",
			want: `plugins."" (line 11): invalid name: empty`},
		{desc: "long name", in: base + "[plugins." + strings.Repeat("p", 129) + "]\ncategory = \"ping\"\n",
			want: "plugins." + strings.Repeat("p", 129) + " (line 11): invalid name: longer than 128 characters"},
		// settings
		{desc: "trusted proxies", in: base + "[settings]\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\", \"10.0.0.0/33\"]\n",
			want: `settings.trusted_proxies[2] (line 12): invalid trusted proxy "10.0.0.0/33": want an IP address or a CIDR such as "10.0.0.0/8"`},
		{desc: "admin addr invalid", in: base + "[settings]\nadmin_addr = \"6100\"\n",
			want: `settings.admin_addr (line 12): invalid listen address "6100": missing port in address`},
		{desc: "admin addr list", in: base + "[settings]\nadmin_addr = \":1,:2\"\n",
			want: `settings.admin_addr (line 12): want a single listen address, got 2`},
		{desc: "admin addr clashes with server", in: base + "[settings]\nadmin_addr = \":8080\"\n",
			want: `servers.web.addr (line 8): listen address "127.0.0.1:8080" is also used by settings.admin_addr (":8080")`},
		{desc: "log level", in: base + "[settings]\nlog_level = \"verbose\"\n",
			want: `settings.log_level (line 12): unknown log level "verbose": want debug, info, warn or error`},
		// servers
		{desc: "server addr required", in: base + "[servers.b]\nlocations = [\"api\"]\n",
			want: `servers.b.addr (line 11): required`},
		{desc: "server addr invalid", in: base + "[servers.b]\naddr = \"localhost\"\n",
			want: `servers.b.addr (line 12): invalid listen address "localhost": missing port in address`},
		{desc: "same listen address", in: base + "[servers.z]\naddr = \"127.0.0.1:8080\"\n",
			want: `servers.z.addr (line 12): listen address "127.0.0.1:8080" is also used by servers.web ("127.0.0.1:8080")`},
		{desc: "wildcard overlaps", in: base + "[servers.z]\naddr = \":8080\"\n",
			want: `servers.z.addr (line 12): listen address ":8080" is also used by servers.web ("127.0.0.1:8080")`},
		{desc: "address twice in one server", in: base + "[servers.z]\naddr = \":9,:9\"\n",
			want: `servers.z.addr (line 12): listen address ":9" is listed twice`},
		{desc: "port zero never clashes", in: base + "[servers.y]\naddr = \":0\"\n[servers.z]\naddr = \":0\"\n"},
		{desc: "unknown location", in: base + "[servers.b]\naddr = \":81\"\nlocations = [\"api\", \"apii\"]\n",
			want: `servers.b.locations[1] (line 13): unknown location "apii" (did you mean "api"?)`},
		{desc: "location twice", in: base + "[servers.b]\naddr = \":81\"\nlocations = [\"api\", \"api\"]\n",
			want: `servers.b.locations[1] (line 13): location "api" is listed twice (also at index 0)`},
		{desc: "unknown server plugin", in: base + "[servers.b]\naddr = \":81\"\nplugins = [\"nope\"]\n",
			want: `servers.b.plugins[0] (line 13): unknown plugin "nope"`},
		// locations
		{desc: "bad host", in: base + "[locations.b]\nupstream = \"api\"\nhost = \"a.*.com\"\n",
			want: `locations.b.host (line 13): invalid host "a.*.com": wildcards must be a leading "*."`},
		{desc: "bad path regex", in: base + "[locations.b]\nupstream = \"api\"\n\npath = \"~(\"\n",
			want: `locations.b.path (line 14): invalid regex "~(": missing closing )`},
		{desc: "upstream required", in: base + "[locations.b]\npath = \"/b\"\n",
			want: `locations.b.upstream (line 11): required unless the location has plugins`},
		{desc: "plugins without upstream", in: base + "[locations.b]\nplugins = [\"p\"]\n[plugins.p]\ncategory = \"ping\"\n"},
		{desc: "unknown upstream", in: base + "[locations.b]\nupstream = \"apx\"\n",
			want: `locations.b.upstream (line 12): unknown upstream "apx" (did you mean "api"?)`},
		{desc: "bad rewrite", in: base + "[locations.b]\nupstream = \"api\"\nrewrite = \"/x\"\n",
			want: `locations.b.rewrite (line 13): invalid rewrite "/x": want "regex replacement"`},
		{desc: "bad set header", in: base + "[locations.b]\nupstream = \"api\"\nproxy_set_headers = [\"X-A:1\", \"X-B\"]\n",
			want: `locations.b.proxy_set_headers[1] (line 13): invalid header "X-B": want "Name:value"`},
		{desc: "bad add header variable", in: base + "[locations.b]\nupstream = \"api\"\nproxy_add_headers = [\n\"X-A:$hots\"]\n",
			want: `locations.b.proxy_add_headers[0] (line 14): invalid header "X-A:$hots": unknown variable $hots`},
		{desc: "bad remove header", in: base + "[locations.b]\nupstream = \"api\"\nproxy_remove_headers = [\"X B\"]\n",
			want: `locations.b.proxy_remove_headers[0] (line 13): invalid header name "X B"`},
		{desc: "unknown location plugin", in: base + "[locations.b]\nupstream = \"api\"\nplugins = [\"p\"]\n",
			want: `locations.b.plugins[0] (line 13): unknown plugin "p"`},
		// upstreams
		{desc: "addrs required", in: base + "[upstreams.b]\nalgo = \"random\"\n",
			want: `upstreams.b.addrs (line 11): required: at least one address`},
		{desc: "bad addr", in: base + "[upstreams.b]\naddrs = [\n  \"a:1\",\n  \"a:1 0\",\n]\n",
			want: `upstreams.b.addrs[1] (line 14): invalid address "a:1 0": weight must be an integer 1..1000`},
		{desc: "duplicate addr", in: base + "[upstreams.b]\naddrs = [\"a:1\", \"a:1 2\"]\n",
			want: `upstreams.b.addrs[1] (line 12): duplicate address "a:1" (also addrs[0])`},
		{desc: "bad algo", in: base + "[upstreams.b]\naddrs = [\"a:1\"]\nalgo = \"hash\"\n",
			want: `upstreams.b.algo (line 13): unknown algo "hash": want round_robin, least_conn, random, hash:ip, hash:url, hash:header:NAME, hash:cookie:NAME or hash:query:NAME`},
		// plugins
		{desc: "category required", in: base + "[plugins.p]\n",
			want: `plugins.p.category (line 11): required: one of ` + strings.Join(PluginCategories(), ", ")},
		// certificates
		{desc: "certificate fields required", in: base + "[certificates.c]\ndomains = [\"a.com\"]\n",
			want: "certificates.c.tls_cert (line 11): required: inline PEM or the path of a PEM file\n" +
				"certificates.c.tls_key (line 11): required: inline PEM or the path of a PEM file"},
		{desc: "certificate file missing", in: base + "[certificates.c]\ntls_cert = \"/nonexistent/c.pem\"\ntls_key = \"/nonexistent/k.pem\"\n",
			want: "certificates.c.tls_cert (line 12): cannot read \"/nonexistent/c.pem\": no such file or directory\n" +
				"certificates.c.tls_key (line 13): cannot read \"/nonexistent/k.pem\": no such file or directory"},
		{desc: "certificate not a regular file", in: base + "[certificates.c]\ntls_cert = \"/dev/zero\"\ntls_key = \"/\"\n",
			want: "certificates.c.tls_cert (line 12): cannot read \"/dev/zero\": not a regular file\n" +
				"certificates.c.tls_key (line 13): cannot read \"/\": not a regular file"},
		{desc: "inline garbage", in: base + "[certificates.c]\ntls_cert = \"-----BEGIN nothing\"\ntls_key = \"-----BEGIN nothing\"\n",
			want: `certificates.c.tls_cert (line 12): no CERTIFICATE PEM block found`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			if got := validationErrors(t, tt.in); got != tt.want {
				t.Errorf("Validate =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestValidateGoValues covers what only a snapshot built in Go (or by JSON)
// can hold: negative or invalid durations, invalid UTF-8, nil objects.
func TestValidateGoValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		s    *pb.Snapshot
		want string
	}{
		{desc: "nil snapshot", s: nil},
		{desc: "nil objects", s: &pb.Snapshot{Servers: map[string]*pb.Server{"a": nil}, Plugins: map[string]*pb.Plugin{"p": nil}},
			want: "plugins.p.category: required: one of " + strings.Join(PluginCategories(), ", ") + "\nservers.a.addr: required"},
		{desc: "negative duration", s: &pb.Snapshot{Settings: &pb.Settings{GracePeriod: durationpb.New(-time.Second)}},
			want: "settings.grace_period: invalid duration -1s: negative"},
		{desc: "invalid duration", s: &pb.Snapshot{Settings: &pb.Settings{GracePeriod: &durationpb.Duration{Seconds: 1, Nanos: -1}}},
			want: "settings.grace_period: invalid duration: proto: duration (seconds:1 nanos:-1) has seconds and nanos with different signs"},
		{desc: "invalid UTF-8", s: &pb.Snapshot{Settings: &pb.Settings{Name: "a\xff"}},
			want: "settings.name: invalid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			got := errString(Validate(tt.s, nil))
			got = strings.Join(strings.Fields(got), " ") // protobuf randomizes spaces
			tt.want = strings.Join(strings.Fields(tt.want), " ")
			if got != tt.want {
				t.Errorf("Validate =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	in := `[upstreams.api]
addrs = ["127.0.0.1:9001", "nope"]
algo = "fastest"

[locations.api]
path = "~("
upstream = "api"
pathh = "/x"

[servers.web]
addr = "127.0.0.1:8080"
locations = ["api", "apii"]
`
	_, err := ValidateBytes([]byte(in), FormatTOML)
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("ValidateBytes = %v, want an ErrorList", err)
	}
	want := `upstreams.api.addrs[1] (line 2): invalid address "nope": missing port in address
upstreams.api.algo (line 3): unknown algo "fastest": want round_robin, least_conn, random, hash:ip, hash:url, hash:header:NAME, hash:cookie:NAME or hash:query:NAME
locations.api.path (line 6): invalid regex "~(": missing closing )
locations.api.pathh (line 8): unknown field "pathh" (did you mean "path"?)
servers.web.locations[1] (line 12): unknown location "apii" (did you mean "api"?)`
	if len(list) != 5 || err.Error() != want {
		t.Errorf("got %d errors:\n%v\nwant 5:\n%s", len(list), err, want)
	}
}

func TestValidateBytesHidesRepeats(t *testing.T) {
	t.Parallel()
	_, err := ValidateBytes([]byte("[upstreams.api]\naddrs = 1\n"), FormatTOML)
	if got, want := errString(err), "upstreams.api.addrs (line 2): want an array of strings, got integer"; got != want {
		t.Errorf("ValidateBytes = %q, want %q", got, want)
	}
	s, err := ValidateBytes([]byte(exampleTOML), FormatTOML)
	if err != nil || s == nil {
		t.Errorf("ValidateBytes(example) = %v, %v", s, err)
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(good, []byte(exampleTOML), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(`{"servers": {"web": {}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s, src, err := Load(good)
	if err != nil || s == nil || src.Line("servers.web.addr") != 20 {
		t.Fatalf("Load(good) = %v, line %d, %v", s, src.Line("servers.web.addr"), err)
	}
	_, _, err = Load(bad)
	var list ErrorList
	if !errors.As(err, &list) || err.Error() != "config "+bad+": servers.web.addr: required" {
		t.Errorf("Load(bad) = %v", err)
	}
	if _, _, err := Load(filepath.Join(dir, "missing.toml")); err == nil || !strings.Contains(err.Error(), "missing.toml") {
		t.Errorf("Load(missing) = %v", err)
	}
}

func TestValidateCertificates(t *testing.T) {
	t.Parallel()
	a := testcert.SelfSigned(t, "a.example.com", "a.example.com")
	b := testcert.SelfSigned(t, "b.example.com", "b.example.com")
	certA, keyA, certB, keyB := a.CertPEM, a.KeyPEM, b.CertPEM, b.KeyPEM
	certFile, keyFile := a.Write(t, t.TempDir(), "a")
	tests := []struct {
		desc  string
		certs map[string]*pb.Certificate
		want  string
	}{
		{desc: "inline pair", certs: map[string]*pb.Certificate{"web": {TlsCert: certA, TlsKey: keyA, Domains: []string{"a.example.com", "*.example.com"}}}},
		{desc: "file pair", certs: map[string]*pb.Certificate{"web": {TlsCert: certFile, TlsKey: keyFile}}},
		{desc: "mixed pair", certs: map[string]*pb.Certificate{"web": {TlsCert: certFile, TlsKey: keyA}}},
		{desc: "key does not match", certs: map[string]*pb.Certificate{"web": {TlsCert: certA, TlsKey: keyB}},
			want: "certificates.web.tls_key: private key does not match the certificate in tls_cert"},
		{desc: "key is a certificate", certs: map[string]*pb.Certificate{"web": {TlsCert: certA, TlsKey: certB}},
			want: "certificates.web.tls_key: invalid private key: found a certificate rather than a key in the PEM for the private key"},
		{desc: "bad domain", certs: map[string]*pb.Certificate{"web": {TlsCert: certA, TlsKey: keyA, Domains: []string{"a.*.com", "a..com"}}},
			want: "certificates.web.domains[0]: invalid domain \"a.*.com\": want an exact name or a wildcard such as \"*.example.com\"\n" +
				"certificates.web.domains[1]: invalid domain \"a..com\": want an exact name or a wildcard such as \"*.example.com\""},
		{desc: "domain served twice", certs: map[string]*pb.Certificate{
			"a": {TlsCert: certA, TlsKey: keyA, Domains: []string{"x.com"}},
			"b": {TlsCert: certB, TlsKey: keyB, Domains: []string{"X.com"}},
		}, want: `certificates.b.domains[0]: domain "x.com" is also served by certificates.a`},
		{desc: "two defaults", certs: map[string]*pb.Certificate{
			"a": {TlsCert: certA, TlsKey: keyA, IsDefault: true},
			"b": {TlsCert: certB, TlsKey: keyB, IsDefault: true},
		}, want: `certificates.b.is_default: only one certificate may be the default, certificates.a is too`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			got := errString(Validate(&pb.Snapshot{Certificates: tt.certs}, nil))
			if got != tt.want {
				t.Errorf("Validate =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestValidateTracing(t *testing.T) {
	for _, tt := range []struct{ toml, want string }{
		{"[settings.tracing]\nprotocol = \"grpc\"\n", "settings.tracing.otlp_exporter (line 1): required"},
		{"[settings.tracing]\notlp_exporter = \"collector\"\n", `settings.tracing.otlp_exporter (line 2): "collector" has no port`},
		{"[settings.tracing]\notlp_exporter = \"ftp://c:1\"\n", `settings.tracing.otlp_exporter (line 2): "ftp://c:1" is not an http(s) URL`},
		{"[settings.tracing]\notlp_exporter = \"c:4317\"\nprotocol = \"thrift\"\n", `settings.tracing.protocol (line 3): "thrift" is neither grpc nor http`},
		{"[settings.tracing]\notlp_exporter = \"c:4317\"\nsample_ratio = 1.5\n", "settings.tracing.sample_ratio (line 3): 1.5 is not between 0 and 1"},
		{"[settings.tracing]\notlp_exporter = \"c:4317\"\nheaders = [\"nocolon\"]\n", "settings.tracing.headers[0] (line 3)"},
	} {
		_, err := ValidateBytes([]byte(tt.toml), FormatTOML)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.toml, err, tt.want)
		}
	}
	if _, err := ValidateBytes([]byte("[settings.tracing]\notlp_exporter = \"http://c:4318/otlp/v1/traces\"\nprotocol = \"http\"\nsample_ratio = 0.1\n"), FormatTOML); err != nil {
		t.Fatalf("valid tracing settings: %v", err)
	}
}

func TestParseOTLPEndpoint(t *testing.T) {
	for _, tt := range []struct {
		in, protocol string
		tls          bool
		want         OTLPEndpoint
	}{
		{"c:4317", "", false, OTLPEndpoint{HostPort: "c:4317", GRPC: true}},
		{"c:4317", "grpc", true, OTLPEndpoint{HostPort: "c:4317", GRPC: true, TLS: true}},
		{"https://c:443", "grpc", false, OTLPEndpoint{HostPort: "c:443", GRPC: true, TLS: true}},
		{"http://c:4318/custom/traces", "http", true, OTLPEndpoint{HostPort: "c:4318", Path: "/custom/traces"}},
		{"http://c:4318", "http", false, OTLPEndpoint{HostPort: "c:4318"}},
	} {
		got, err := ParseOTLPEndpoint(tt.in, tt.protocol, tt.tls)
		if err != nil || got != tt.want {
			t.Errorf("ParseOTLPEndpoint(%q, %q, %v) = %+v, %v; want %+v", tt.in, tt.protocol, tt.tls, got, err, tt.want)
		}
	}
}
