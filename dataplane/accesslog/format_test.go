package accesslog

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/observe"
)

// testNow is the clock of the format tests: the request started 1.5s
// before, in a zone one hour east of UTC.
var (
	testNow   = time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.FixedZone("", 3600))
	testClock = func() time.Time { return testNow }
)

// fullRequest is a request with every value a tag can read.
func fullRequest() (*observe.Record, *http.Request, http.Header) {
	r := httptest.NewRequest("POST", "https://api.example.com/v1/items%2F7?q=a+b&x=1", nil)
	r.RequestURI = "/v1/items%2F7?q=a+b&x=1" // origin-form, as most clients send
	r.RemoteAddr = "10.0.0.9:41000"
	r.Header.Set("Referer", "https://example.com/")
	r.Header.Set("User-Agent", "curl/8.0")
	r.Header.Set("X-Real-Ip", "203.0.113.7")
	r.Header.Set("Cookie", `a=1; session="s3cr3t"; b=2`)
	resp := http.Header{"Content-Type": {"application/json"}}
	metrics := observe.NewMetrics(prometheus.NewRegistry())
	rec := &observe.Record{
		Start: testNow.Add(-1500 * time.Millisecond), Server: "web", Location: metrics.Location("web", "api", "backend"),
		Upstream: "backend", UpstreamAddr: "10.1.0.1:8080", UpstreamTime: 1234 * time.Millisecond, Attempts: 2,
		RequestID: "req-1", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", Status: 201, BytesIn: 2048, BytesOut: 1_536_000,
	}
	return rec, r, resp
}

// emptyRequest is a request with nothing optional: no headers, no
// upstream, no status.
func emptyRequest() (*observe.Record, *http.Request, http.Header) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "[::1]:5000"
	return &observe.Record{Start: testNow}, r, http.Header{}
}

func format(t testing.TB, f string, rec *observe.Record, r *http.Request, resp http.Header, opts ...Option) string {
	t.Helper()
	c, err := Compile(f, append([]Option{WithClock(testClock)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return string(c.Append(nil, rec, r, resp))
}

func TestPresets(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, want string }{
		{"combined", `10.0.0.9 - - [2026-03-04T05:06:07.890+01:00] "POST /v1/items%2F7?q=a+b&x=1 HTTP/1.1" 201 1536000 "https://example.com/" "curl/8.0"`},
		{"common", `10.0.0.9 - - [2026-03-04T05:06:07.890+01:00] "POST /v1/items%2F7?q=a+b&x=1 HTTP/1.1" 201 1536000`},
		{"short", `10.0.0.9 - POST /v1/items%2F7?q=a+b&x=1 HTTP/1.1 201 1536000 - 1.5s`},
		{"tiny", `POST /v1/items%2F7?q=a+b&x=1 201 1536000 - 1.5s`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec, r, resp := fullRequest()
			if got := format(t, tt.name, rec, r, resp); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
	t.Run("combined empty", func(t *testing.T) {
		t.Parallel()
		rec, r, resp := emptyRequest()
		want := `::1 - - [2026-03-04T05:06:07.890+01:00] "GET / HTTP/1.1" - 0 "-" "-"`
		if got := format(t, "combined", rec, r, resp); got != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
	})
}

func TestTags(t *testing.T) {
	t.Parallel()
	tests := []struct{ tag, full, empty string }{
		{"{host}", "api.example.com", "example.com"},
		{"{method}", "POST", "GET"},
		{"{path}", "/v1/items%2F7", "/"},
		{"{proto}", "HTTP/1.1", "HTTP/1.1"},
		{"{query}", "q=a+b&x=1", "-"},
		{"{remote}", "10.0.0.9", "::1"},
		{"{client_ip}", "10.0.0.9", "::1"},
		{"{scheme}", "https", "http"},
		{"{uri}", "/v1/items%2F7?q=a+b&x=1", "/"},
		{"{referer}", "https://example.com/", "-"},
		{"{user_agent}", "curl/8.0", "-"},
		{"{when}", "2026-03-04T05:06:07.890+01:00", "2026-03-04T05:06:07.890+01:00"},
		{"{when_utc_iso}", "2026-03-04T04:06:07.890Z", "2026-03-04T04:06:07.890Z"},
		{"{when_unix}", "1772597167890", "1772597167890"},
		{"{size}", "1536000", "0"},
		{"{size_human}", "1.5MB", "0B"},
		{"{status}", "201", "-"},
		{"{latency}", "1500", "0"},
		{"{latency_human}", "1.5s", "0µs"},
		{"{payload_size}", "2048", "0"},
		{"{payload_size_human}", "2KB", "0B"},
		{"{request_id}", "req-1", "-"},
		{"{trace_id}", "4bf92f3577b34da6a3ce929d0e0e4736", "-"},
		{"{>x-real-ip}", "203.0.113.7", "-"},
		{"{<Content-Type}", "application/json", "-"},
		{"{~session}", "s3cr3t", "-"},
		{"{~b}", "2", "-"},
		{"{:upstream_addr}", "10.1.0.1:8080", "-"},
		{"{:upstream}", "backend", "-"},
		{"{:upstream_response_time}", "1234", "-"},
		{"{:location}", "api", "-"},
		{"{:server}", "web", "-"},
		{"{:attempts}", "2", "0"},
		{"[{status}] {{method}} 100%", "[201] {POST} 100%", "[-] {GET} 100%"},
	}
	for _, tt := range tests {
		t.Run(tt.tag, func(t *testing.T) {
			t.Parallel()
			rec, r, resp := fullRequest()
			r.TLS = &tls.ConnectionState{}
			if got := format(t, tt.tag, rec, r, resp); got != tt.full {
				t.Errorf("full request: got %q, want %q", got, tt.full)
			}
			rec, r, resp = emptyRequest()
			if got := format(t, tt.tag, rec, r, resp); got != tt.empty {
				t.Errorf("empty request: got %q, want %q", got, tt.empty)
			}
		})
	}
}

// TestEveryTag checks that every tag config knows has a writer here: with
// every value set, none writes "-".
func TestEveryTag(t *testing.T) {
	t.Parallel()
	for _, tag := range config.AccessLogTags() {
		in := strings.Replace(tag, "Name", "Content-Type", 1)
		switch tag {
		case "{~Name}":
			in = "{~session}"
		case "{$Name}":
			in = "{$hostname}"
		}
		rec, r, resp := fullRequest()
		r.Header.Set("Content-Type", "text/plain")
		if got := format(t, in, rec, r, resp); got == "-" || got == "" {
			t.Errorf("%s wrote %q", in, got)
		}
	}
}

func TestClientIPThroughProxies(t *testing.T) {
	t.Parallel()
	rec, r, resp := fullRequest()
	viaHeader := WithClientIP(func(r *http.Request) netip.Addr {
		return netip.MustParseAddr(r.Header.Get("X-Real-Ip"))
	})
	if got := format(t, "{client_ip} {remote}", rec, r, resp, viaHeader); got != "203.0.113.7 10.0.0.9" {
		t.Errorf("got %q", got)
	}
	none := WithClientIP(func(*http.Request) netip.Addr { return netip.Addr{} })
	if got := format(t, "{client_ip}", rec, r, resp, none); got != "-" {
		t.Errorf("unknown client: got %q", got)
	}
}

func TestTemplateEscaping(t *testing.T) {
	t.Parallel()
	tests := []struct{ desc, value, want string }{
		{"quote", `a"b`, `"a\x22b"`},
		{"backslash", `a\b`, `"a\x5cb"`},
		{"newline forges no line", "a\n127.0.0.1 - - [x] \"GET", `"a\x0a127.0.0.1 - - [x] \x22GET"`},
		{"control", "a\x00\x1b\x7fb", `"a\x00\x1b\x7fb"`},
		{"valid utf-8 kept", "café ☕", `"café ☕"`},
		{"invalid utf-8", "a\xff\xc3b", `"a\xff\xc3b"`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			rec, r, resp := emptyRequest()
			r.Header["User-Agent"] = []string{tt.value}
			if got := format(t, `"{user_agent}"`, rec, r, resp); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// jsonLine is the "json" format decoded.
type jsonLine struct {
	Time         string   `json:"time"`
	Host         string   `json:"host"`
	Method       string   `json:"method"`
	Path         string   `json:"path"`
	Query        string   `json:"query"`
	Proto        string   `json:"proto"`
	Status       int      `json:"status"`
	BytesIn      int64    `json:"bytes_in"`
	BytesOut     int64    `json:"bytes_out"`
	LatencyMS    float64  `json:"latency_ms"`
	ClientIP     string   `json:"client_ip"`
	RemoteAddr   string   `json:"remote_addr"`
	RequestID    string   `json:"request_id"`
	TraceID      string   `json:"trace_id"`
	Upstream     string   `json:"upstream"`
	UpstreamAddr string   `json:"upstream_addr"`
	UpstreamMS   *float64 `json:"upstream_ms"`
	Attempts     int      `json:"attempts"`
	Server       string   `json:"server"`
	Location     string   `json:"location"`
	Referer      string   `json:"referer"`
	UserAgent    string   `json:"user_agent"`
}

func TestJSON(t *testing.T) {
	t.Parallel()
	rec, r, resp := fullRequest()
	rec.UpstreamTime = 1234567 * time.Microsecond
	line := format(t, "json", rec, r, resp)
	dec := json.NewDecoder(strings.NewReader(line))
	dec.DisallowUnknownFields()
	var got jsonLine
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("%v in %s", err, line)
	}
	up := 1234.567
	want := jsonLine{
		Time: "2026-03-04T04:06:07.890Z", Host: "api.example.com", Method: "POST", Path: "/v1/items%2F7", Query: "q=a+b&x=1",
		Proto: "HTTP/1.1", Status: 201, BytesIn: 2048, BytesOut: 1536000, LatencyMS: 1500, ClientIP: "10.0.0.9",
		RemoteAddr: "10.0.0.9", RequestID: "req-1", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", Upstream: "backend",
		UpstreamAddr: "10.1.0.1:8080", UpstreamMS: &up, Attempts: 2, Server: "web", Location: "api",
		Referer: "https://example.com/", UserAgent: "curl/8.0",
	}
	if got.UpstreamMS == nil || *got.UpstreamMS != up {
		t.Errorf("upstream_ms = %v, want %v", got.UpstreamMS, up)
	}
	got.UpstreamMS = want.UpstreamMS
	if got != want {
		t.Errorf("got  %+v\nwant %+v\nline %s", got, want, line)
	}

	rec, r, resp = emptyRequest()
	line = format(t, "json", rec, r, resp)
	const wantEmpty = `{"time":"2026-03-04T04:06:07.890Z","host":"example.com","method":"GET","path":"/","query":"","proto":"HTTP/1.1",` +
		`"status":0,"bytes_in":0,"bytes_out":0,"latency_ms":0,"client_ip":"::1","remote_addr":"::1","request_id":"","trace_id":"",` +
		`"upstream":"","upstream_addr":"","upstream_ms":null,"attempts":0,"server":"","location":"","referer":"","user_agent":""}`
	if line != wantEmpty {
		t.Errorf("empty request:\n%s\nwant\n%s", line, wantEmpty)
	}
}

// TestJSONHostile sends values crafted to break out of a JSON string and
// checks each line is one valid object that decodes to what was sent.
func TestJSONHostile(t *testing.T) {
	t.Parallel()
	hostile := []string{
		`"}, {"status": 200`, "a\\", "\\\"", "\x00\x01\x1f\x7f", "line\nbreak\r\n", "\t<script>&amp;</script>",
		"\u2028\u2029", "\xff\xfe invalid", "\xe2\x80", "é☕𝄞", strings.Repeat(`"\`, 1000),
	}
	for _, v := range hostile {
		rec, r, resp := fullRequest()
		r.Header["User-Agent"] = []string{v}
		r.Header["Referer"] = []string{v}
		r.Host = v
		rec.RequestID, rec.Server, rec.Upstream = v, v, v
		line := format(t, "json", rec, r, resp)
		if !json.Valid([]byte(line)) || strings.ContainsAny(line, "\n\r") {
			t.Fatalf("%q: invalid line %s", v, line)
		}
		var got jsonLine
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatal(err)
		}
		want := strings.ToValidUTF8(v, "\ufffd")
		if !utf8.ValidString(v) { // encoding/json replaces each bad byte
			b, _ := json.Marshal(v)
			_ = json.Unmarshal(b, &want)
		}
		for name, s := range map[string]string{"user_agent": got.UserAgent, "referer": got.Referer, "host": got.Host,
			"request_id": got.RequestID, "server": got.Server, "upstream": got.Upstream} {
			if s != want {
				t.Errorf("%q: %s decoded as %q", v, name, s)
			}
		}
	}
}

// FuzzJSONString checks the hand-written JSON escaping against
// encoding/json's.
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `"\`, "\x00\n\u2028<>&", "\xff\xc3\x28", "é☕𝄞\x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Fatalf("appendJSONString(%q) = %s, encoding/json %s", s, got, want)
		}
	})
}

// FuzzTemplateText checks that a template value never breaks its quotes or
// the line, and keeps valid UTF-8 as it is.
func FuzzTemplateText(f *testing.F) {
	for _, s := range []string{"", "a\"b", "x\ny", "\\", "\xff", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := string(appendText(nil, s))
		if strings.ContainsAny(got, "\"\n\r\x00") || !utf8.ValidString(got) {
			t.Fatalf("appendText(%q) = %q", s, got)
		}
		if s != "" && !strings.ContainsAny(s, "\"\\") && utf8.ValidString(s) &&
			!strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) && got != s {
			t.Fatalf("appendText(%q) = %q, want it unchanged", s, got)
		}
	})
}

func TestHumanUnits(t *testing.T) {
	t.Parallel()
	sizes := []struct {
		n    int64
		want string
	}{{0, "0B"}, {999, "999B"}, {1000, "1KB"}, {1549, "1.5KB"}, {1550, "1.6KB"}, {999_949, "999.9KB"},
		{999_950, "1MB"}, {12_345_678, "12.3MB"}, {3_200_000_000, "3.2GB"}, {1 << 62, "4.6EB"}}
	for _, tt := range sizes {
		if got := string(appendHumanSize(nil, tt.n)); got != tt.want {
			t.Errorf("size %d: got %s, want %s", tt.n, got, tt.want)
		}
	}
	durations := []struct {
		d    time.Duration
		want string
	}{{0, "0µs"}, {-time.Second, "0µs"}, {850 * time.Microsecond, "850µs"}, {12 * time.Millisecond, "12ms"},
		{999 * time.Millisecond, "999ms"}, {1500 * time.Millisecond, "1.5s"}, {90 * time.Second, "90s"}}
	for _, tt := range durations {
		if got := string(appendHumanDuration(nil, tt.d)); got != tt.want {
			t.Errorf("duration %s: got %s, want %s", tt.d, got, tt.want)
		}
	}
	millis := []struct {
		d    time.Duration
		want string
	}{{0, "0"}, {1500 * time.Microsecond, "1.5"}, {12_345 * time.Microsecond, "12.345"}, {70 * time.Microsecond, "0.07"}, {3 * time.Second, "3000"}}
	for _, tt := range millis {
		if got := string(appendMillis(nil, tt.d)); got != tt.want {
			t.Errorf("millis %s: got %s, want %s", tt.d, got, tt.want)
		}
	}
}

// TestFormatDoesNotAllocate checks that formatting a typical request into
// a buffer with room allocates nothing.
func TestFormatDoesNotAllocate(t *testing.T) {
	for _, name := range []string{"combined", "json", "{>x-real-ip} {~session} {<Content-Type} {:location} {size_human} {latency_human}"} {
		f, err := Compile(name)
		if err != nil {
			t.Fatal(err)
		}
		rec, r, resp := fullRequest()
		buf := make([]byte, 0, 4096)
		if n := testing.AllocsPerRun(100, func() { buf = f.Append(buf[:0], rec, r, resp) }); n != 0 {
			t.Errorf("%s: %v allocations per line", name, n)
		}
	}
}

func BenchmarkFormatCombined(b *testing.B) { benchmarkFormat(b, "combined") }

func BenchmarkFormatJSON(b *testing.B) { benchmarkFormat(b, "json") }

func benchmarkFormat(b *testing.B, name string) {
	f, err := Compile(name)
	if err != nil {
		b.Fatal(err)
	}
	rec, r, resp := fullRequest()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = f.Append(buf[:0], rec, r, resp)
	}
	b.SetBytes(int64(len(buf)))
}

func TestRequestPath(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ target, want string }{
		{"/a%20b/c?x=1", "/a%20b/c"},
		{"http://example.com/p%2Fq?x", "/p%2Fq"},
		{"http://example.com", "/"},
		{"*", "*"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RequestURI = tt.target
		if got := requestPath(r); got != tt.want {
			t.Errorf("requestPath(%q) = %q, want %q", tt.target, got, tt.want)
		}
	}
	r := httptest.NewRequest("GET", "/x%2Fy", nil)
	r.RequestURI = "" // a request made in process
	if got := requestPath(r); got != "/x%2Fy" {
		t.Errorf("without RequestURI: %q", got)
	}
}

// {$NAME} writes the data plane's environment variable, read when the
// format is compiled; {$hostname} the host name.
func TestEnvTag(t *testing.T) {
	t.Setenv("PINGAP_TEST_ZONE", "eu-west \"1\"")
	host, _ := os.Hostname()
	rec, r, resp := fullRequest()
	got := format(t, "{$PINGAP_TEST_ZONE} {$hostname} {$PINGAP_TEST_UNSET} {status}", rec, r, resp)
	want := `eu-west \x221\x22 ` + host + " - " + strconv.Itoa(rec.Status)
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
