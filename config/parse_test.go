package config

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// errString returns the error's text, or "" for nil.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, in string
		want     uint64
		err      string
	}{
		{desc: "plain bytes", in: "512", want: 512},
		{desc: "b unit", in: "10b", want: 10},
		{desc: "kb", in: "64kb", want: 64 << 10},
		{desc: "KiB any case", in: "64KiB", want: 64 << 10},
		{desc: "mb", in: "1mb", want: 1 << 20},
		{desc: "fraction and space", in: "1.5 GB", want: 3 << 29},
		{desc: "tb", in: "2t", want: 2 << 40},
		{desc: "surrounding space", in: " 1m ", want: 1 << 20},
		{desc: "empty", in: "", err: "empty size"},
		{desc: "no number", in: "mb", err: `invalid size "mb": want a number and an optional unit (b, kb, mb, gb)`},
		{desc: "negative", in: "-1mb", err: `invalid size "-1mb": want a number and an optional unit (b, kb, mb, gb)`},
		{desc: "unknown unit", in: "1xb", err: `invalid size "1xb": unknown unit "xb" (use b, kb, mb, gb)`},
		{desc: "two dots", in: "1.2.3kb", err: `invalid size "1.2.3kb"`},
		{desc: "too large", in: "9000000000tb", err: `invalid size "9000000000tb": too large`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			got, err := ParseSize(tt.in)
			if errString(err) != tt.err || got != tt.want {
				t.Errorf("ParseSize(%q) = %d, %q; want %d, %q", tt.in, got, errString(err), tt.want, tt.err)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, in string
		want     time.Duration
		err      string
	}{
		{desc: "go seconds", in: "2s", want: 2 * time.Second},
		{desc: "go composite", in: "1m30s", want: 90 * time.Second},
		{desc: "go millis", in: "250ms", want: 250 * time.Millisecond},
		{desc: "zero", in: "0", want: 0},
		{desc: "humantime with space", in: "1min 30s", want: 90 * time.Second},
		{desc: "humantime words", in: "2 hours", want: 2 * time.Hour},
		{desc: "humantime days", in: "1d", want: 24 * time.Hour},
		{desc: "humantime glued", in: "1min30s", want: 90 * time.Second},
		{desc: "empty", in: " ", err: "empty duration"},
		{desc: "negative", in: "-1s", err: `invalid duration "-1s": negative`},
		{desc: "missing unit", in: "30", err: `invalid duration "30": missing unit after 30 (e.g. "30s")`},
		{desc: "unknown unit", in: "2x", err: `invalid duration "2x": unknown unit "x"`},
		{desc: "no number", in: "s", err: `invalid duration "s": want e.g. "30s", "1m30s" or "2h"`},
		{desc: "one component too large", in: "9999999999d", err: `invalid duration "9999999999d": too large`},
		{desc: "sum too large", in: "4611686018427387903ns 4611686018427387903ns 4611686018427387903ns",
			err: `invalid duration "4611686018427387903ns 4611686018427387903ns 4611686018427387903ns": too large`},
		{desc: "number overflows int64", in: "99999999999999999999 s", err: `invalid duration "99999999999999999999 s": too large`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDuration(tt.in)
			if errString(err) != tt.err || got != tt.want {
				t.Errorf("ParseDuration(%q) = %v, %q; want %v, %q", tt.in, got, errString(err), tt.want, tt.err)
			}
		})
	}
}

func TestParseTarget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, in string
		want     Target
		err      string
	}{
		{desc: "ip and port", in: "127.0.0.1:9001", want: Target{Addr: "127.0.0.1:9001", Weight: 1}},
		{desc: "weight", in: "127.0.0.1:9002 3", want: Target{Addr: "127.0.0.1:9002", Weight: 3}},
		{desc: "host name", in: "backend.internal:80", want: Target{Addr: "backend.internal:80", Weight: 1}},
		{desc: "ipv6", in: "[::1]:8080 1000", want: Target{Addr: "[::1]:8080", Weight: 1000}},
		{desc: "empty", in: "", err: `invalid address "": want "host:port" or "host:port weight"`},
		{desc: "three fields", in: "a:1 2 3", err: `invalid address "a:1 2 3": want "host:port" or "host:port weight"`},
		{desc: "missing port", in: "127.0.0.1", err: `invalid address "127.0.0.1": missing port in address`},
		{desc: "missing host", in: ":80", err: `invalid address ":80": missing host`},
		{desc: "bad host", in: "a/b:80", err: `invalid address "a/b:80": "a/b" is not a host name or IP address`},
		{desc: "port zero", in: "h:0", err: `invalid address "h:0": port must be 1..65535`},
		{desc: "port name", in: "h:http", err: `invalid address "h:http": port must be 1..65535`},
		{desc: "weight zero", in: "h:1 0", err: `invalid address "h:1 0": weight must be an integer 1..1000`},
		{desc: "weight too big", in: "h:1 1001", err: `invalid address "h:1 1001": weight must be an integer 1..1000`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			got, err := ParseTarget(tt.in)
			if errString(err) != tt.err || got != tt.want {
				t.Errorf("ParseTarget(%q) = %+v, %q; want %+v, %q", tt.in, got, errString(err), tt.want, tt.err)
			}
		})
	}
}

func TestParseListenAddrs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, in string
		want     []string
		err      string
	}{
		{desc: "one", in: "127.0.0.1:8080", want: []string{"127.0.0.1:8080"}},
		{desc: "all interfaces", in: ":80", want: []string{":80"}},
		{desc: "list with spaces", in: "127.0.0.1:80, [::1]:80", want: []string{"127.0.0.1:80", "[::1]:80"}},
		{desc: "port zero", in: "localhost:0", want: []string{"localhost:0"}},
		{desc: "empty", in: "", err: `invalid listen address "": empty entry`},
		{desc: "empty entry", in: "a:1,,b:2", err: `invalid listen address "a:1,,b:2": empty entry`},
		{desc: "no port", in: "127.0.0.1", err: `invalid listen address "127.0.0.1": missing port in address`},
		{desc: "port range", in: ":65536", err: `invalid listen address ":65536": port must be 0..65535`},
		{desc: "bad host", in: "a b:80", err: `invalid listen address "a b:80": "a b" is not a host name or IP address`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			got, err := ParseListenAddrs(tt.in)
			if errString(err) != tt.err || len(got) != len(tt.want) {
				t.Fatalf("ParseListenAddrs(%q) = %q, %q; want %q, %q", tt.in, got, errString(err), tt.want, tt.err)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("ParseListenAddrs(%q)[%d] = %q, want %q", tt.in, i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestParseHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, in string
		want     Header
		err      string
	}{
		{desc: "simple", in: "X-Env:prod", want: Header{Name: "X-Env", Value: "prod"}},
		{desc: "canonical name, trimmed value", in: " x-env :  prod ", want: Header{Name: "X-Env", Value: "prod"}},
		{desc: "empty value", in: "X-Empty:", want: Header{Name: "X-Empty", Value: ""}},
		{desc: "colon in value", in: "X-Url:http://a", want: Header{Name: "X-Url", Value: "http://a"}},
		{desc: "variables", in: "X-Real-Ip:$remote_addr:$remote_port", want: Header{Name: "X-Real-Ip", Value: "$remote_addr:$remote_port"}},
		{desc: "request header variable", in: "X-Id:$http_x_request_id", want: Header{Name: "X-Id", Value: "$http_x_request_id"}},
		{desc: "literal dollar", in: "X-Price:$5", want: Header{Name: "X-Price", Value: "$5"}},
		{desc: "no colon", in: "X-Env", err: `invalid header "X-Env": want "Name:value"`},
		{desc: "empty name", in: ":v", err: `invalid header ":v": want "Name:value"`},
		{desc: "bad name", in: "X Env:v", err: `invalid header "X Env:v": "X Env" is not a valid header name`},
		{desc: "unknown variable", in: "X-Env:$hots", err: `invalid header "X-Env:$hots": unknown variable $hots`},
		{desc: "bare http_ variable", in: "X-A:$http_", err: `invalid header "X-A:$http_": unknown variable $http_`},
		{desc: "newline in value", in: "X-A:a\nb", err: `invalid header "X-A:a\nb": control character '\n' in value`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			got, err := ParseHeader(tt.in)
			if errString(err) != tt.err || got != tt.want {
				t.Errorf("ParseHeader(%q) = %+v, %q; want %+v, %q", tt.in, got, errString(err), tt.want, tt.err)
			}
		})
	}
}

func TestParseHeaderRename(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, in, from, to, err string
	}{
		{desc: "canonical names", in: "x-old:x-new", from: "X-Old", to: "X-New"},
		{desc: "spaces trimmed", in: " Server : X-Server ", from: "Server", to: "X-Server"},
		{desc: "no colon", in: "X-Old", err: `want "Old:New", got "X-Old"`},
		{desc: "empty new name", in: "X-Old:", err: `want "Old:New", got "X-Old:"`},
		{desc: "bad name", in: "X Old:X-New", err: `want "Old:New", got "X Old:X-New"`},
		{desc: "two colons", in: "a:b:c", err: `want "Old:New", got "a:b:c"`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			from, to, err := ParseHeaderRename(tt.in)
			if errString(err) != tt.err || from != tt.from || to != tt.to {
				t.Errorf("ParseHeaderRename(%q) = %q, %q, %q; want %q, %q, %q", tt.in, from, to, errString(err), tt.from, tt.to, tt.err)
			}
		})
	}
}

func TestValidHeaderName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, in string
		want     bool
	}{
		{desc: "plain", in: "X-Debug", want: true},
		{desc: "token chars", in: "a!#$%&'*+-.^_`|~9", want: true},
		{desc: "empty", in: ""},
		{desc: "space", in: "X Debug"},
		{desc: "colon", in: "X:Debug"},
		{desc: "non-ascii", in: "X-Débug"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			if got := ValidHeaderName(tt.in); got != tt.want {
				t.Errorf("ValidHeaderName(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseHosts(t *testing.T) {
	t.Parallel()
	type pat struct {
		kind  HostKind
		value string
	}
	tests := []struct {
		desc, in string
		want     []pat
		err      string
	}{
		{desc: "empty is any", in: " "},
		{desc: "exact lower-cased", in: "API.example.com", want: []pat{{HostExact, "api.example.com"}}},
		{desc: "wildcard", in: "*.Example.com", want: []pat{{HostWildcard, ".example.com"}}},
		{desc: "regex", in: `~^api[0-9]+\.example\.com$`, want: []pat{{HostRegex, `^api[0-9]+\.example\.com$`}}},
		{desc: "list", in: "a.com, *.b.com,~c", want: []pat{{HostExact, "a.com"}, {HostWildcard, ".b.com"}, {HostRegex, "c"}}},
		{desc: "ip", in: "127.0.0.1", want: []pat{{HostExact, "127.0.0.1"}}},
		{desc: "empty entry", in: "a.com,", err: `invalid host list "a.com,": empty entry`},
		{desc: "bad regex", in: "~(", err: `invalid regex "~(": missing closing )`},
		{desc: "empty regex", in: "~", err: `invalid regex "~": empty expression`},
		{desc: "inner wildcard", in: "a.*.com", err: `invalid host "a.*.com": wildcards must be a leading "*."`},
		{desc: "bare star", in: "*", err: `invalid host "*": wildcards must be a leading "*."`},
		{desc: "empty wildcard", in: "*.", err: `invalid wildcard host "*.": want "*." and a domain name`},
		{desc: "double dot wildcard", in: "*..", err: `invalid wildcard host "*..": want "*." and a domain name`},
		{desc: "port", in: "a.com:8080", err: `invalid host "a.com:8080": want a host name or IP address, without port`},
		{desc: "slash", in: "a.com/x", err: `invalid host "a.com/x": want a host name or IP address, without port`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			got, err := ParseHosts(tt.in)
			if errString(err) != tt.err || len(got) != len(tt.want) {
				t.Fatalf("ParseHosts(%q) = %+v, %q; want %+v, %q", tt.in, got, errString(err), tt.want, tt.err)
			}
			for i, p := range got {
				if p.Kind != tt.want[i].kind || p.Value != tt.want[i].value || (p.Kind == HostRegex) != (p.Regex != nil) {
					t.Errorf("ParseHosts(%q)[%d] = %+v, want %+v", tt.in, i, p, tt.want[i])
				}
			}
		})
	}
}

func TestParseHostsRegexIgnoresCase(t *testing.T) {
	t.Parallel()
	got, err := ParseHosts("~^API\\.example\\.com$")
	if err != nil {
		t.Fatal(err)
	}
	if !got[0].Regex.MatchString("api.EXAMPLE.com") {
		t.Errorf("host regex %q does not ignore case", got[0].Regex)
	}
}

func TestParsePath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, in string
		kind     PathKind
		value    string
		err      string
	}{
		{desc: "empty is prefix /", in: "", kind: PathPrefix, value: "/"},
		{desc: "prefix", in: "/api", kind: PathPrefix, value: "/api"},
		{desc: "exact", in: "=/login", kind: PathExact, value: "/login"},
		{desc: "regex", in: "~^/v[0-9]+/", kind: PathRegex, value: "^/v[0-9]+/"},
		{desc: "exact without slash", in: "=login", err: `invalid exact path "=login": must start with "/"`},
		{desc: "bare equals", in: "=", err: `invalid exact path "=": must start with "/"`},
		{desc: "bad regex", in: "~(", err: `invalid regex "~(": missing closing )`},
		{desc: "bad regex part", in: "~a**", err: `invalid regex "~a**": invalid nested repetition operator at "**"`},
		{desc: "empty regex", in: "~", err: `invalid regex "~": empty expression`},
		{desc: "relative", in: "api", err: `invalid path "api": want "/prefix", "=/exact" or "~regex"`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			got, err := ParsePath(tt.in)
			if errString(err) != tt.err {
				t.Fatalf("ParsePath(%q) error = %q, want %q", tt.in, errString(err), tt.err)
			}
			if err == nil && (got.Kind != tt.kind || got.Value != tt.value || (got.Kind == PathRegex) != (got.Regex != nil)) {
				t.Errorf("ParsePath(%q) = %+v, want kind %d value %q", tt.in, got, tt.kind, tt.value)
			}
		})
	}
}

func TestParseRewrite(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, in, path, want, err string
	}{
		{desc: "capture", in: "^/api/(.*)$ /$1", path: "/api/users", want: "/users"},
		{desc: "named", in: "^/v1/(?P<rest>.*)$ /v2/${rest}", path: "/v1/a/b", want: "/v2/a/b"},
		{desc: "one field", in: "^/api", err: `invalid rewrite "^/api": want "regex replacement"`},
		{desc: "three fields", in: "a b c", err: `invalid rewrite "a b c": want "regex replacement"`},
		{desc: "bad regex", in: "( /x", err: `invalid regex "(": missing closing )`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			got, err := ParseRewrite(tt.in)
			if errString(err) != tt.err {
				t.Fatalf("ParseRewrite(%q) error = %q, want %q", tt.in, errString(err), tt.err)
			}
			if err != nil {
				return
			}
			if out := got.Regex.ReplaceAllString(tt.path, got.Replacement); out != tt.want {
				t.Errorf("rewrite %q of %q = %q, want %q", tt.in, tt.path, out, tt.want)
			}
		})
	}
}

func TestParseAlgo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, in string
		want     Algo
		err      string
	}{
		{desc: "empty is round robin", in: "", want: Algo{Kind: AlgoRoundRobin}},
		{desc: "round robin", in: "round_robin", want: Algo{Kind: AlgoRoundRobin}},
		{desc: "least conn", in: "least_conn", want: Algo{Kind: AlgoLeastConn}},
		{desc: "random", in: "random", want: Algo{Kind: AlgoRandom}},
		{desc: "hash ip", in: "hash:ip", want: Algo{Kind: AlgoHashIP}},
		{desc: "hash url", in: "hash:url", want: Algo{Kind: AlgoHashURL}},
		{desc: "hash header canonical", in: "hash:header:x-user", want: Algo{Kind: AlgoHashHeader, Key: "X-User"}},
		{desc: "hash cookie", in: "hash:cookie:sid", want: Algo{Kind: AlgoHashCookie, Key: "sid"}},
		{desc: "hash query", in: "hash:query:id", want: Algo{Kind: AlgoHashQuery, Key: "id"}},
		{desc: "missing name", in: "hash:cookie:", err: `invalid algo "hash:cookie:": missing name after "hash:cookie:"`},
		{desc: "bad header", in: "hash:header:a b", err: `invalid algo "hash:header:a b": "a b" is not a valid header name`},
		{desc: "unknown", in: "roundrobin", err: `unknown algo "roundrobin": want round_robin, least_conn, random, hash:ip, hash:url, hash:header:NAME, hash:cookie:NAME or hash:query:NAME`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			got, err := ParseAlgo(tt.in)
			if errString(err) != tt.err || got != tt.want {
				t.Errorf("ParseAlgo(%q) = %+v, %q; want %+v, %q", tt.in, got, errString(err), tt.want, tt.err)
			}
		})
	}
}

func TestIPList(t *testing.T) {
	l, err := ParseIPList([]string{"10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "::ffff:198.51.100.0/120"})
	if err != nil {
		t.Fatal(err)
	}
	for ip, want := range map[string]bool{
		"10.1.2.3": true, "192.0.2.7": true, "192.0.2.8": false, "2001:db8::1": true,
		"::ffff:10.0.0.1": true, "198.51.100.9": true, "2001:db9::1": false,
	} {
		if got := l.Contains(netip.MustParseAddr(ip)); got != want {
			t.Errorf("Contains(%s) = %v, want %v", ip, got, want)
		}
	}
	if l.Contains(netip.Addr{}) {
		t.Error("the zero address is in the list")
	}
	if _, err := ParseIPList([]string{"10.0.0.0/8", "nope"}); err == nil || !strings.HasPrefix(err.Error(), "[1]: ") {
		t.Errorf("error %v, want one naming index 1", err)
	}
}
