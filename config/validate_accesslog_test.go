package config

import (
	"slices"
	"strings"
	"testing"
)

func TestParseAccessLogFormat(t *testing.T) {
	t.Parallel()
	lit := func(s string) AccessLogPart { return AccessLogPart{Tag: AccessLogLiteral, Text: s} }
	tag := func(t AccessLogTag) AccessLogPart { return AccessLogPart{Tag: t} }
	tests := []struct {
		desc, in string
		want     []AccessLogPart
		err      string
	}{
		{desc: "tags and literals", in: "{host} {method} x={status}",
			want: []AccessLogPart{tag(AccessLogHost), lit(" "), tag(AccessLogMethod), lit(" x="), tag(AccessLogStatus)}},
		{desc: "named tags", in: "{>x-forwarded-for}{<content-type}{~session_id}",
			want: []AccessLogPart{{AccessLogRequestHeader, "X-Forwarded-For"}, {AccessLogResponseHeader, "Content-Type"}, {AccessLogCookie, "session_id"}}},
		{desc: "context tags", in: "{:upstream_addr}|{:upstream}|{:upstream_response_time}|{:location}|{:server}|{:attempts}",
			want: []AccessLogPart{tag(AccessLogUpstreamAddr), lit("|"), tag(AccessLogUpstream), lit("|"), tag(AccessLogUpstreamResponseTime),
				lit("|"), tag(AccessLogLocation), lit("|"), tag(AccessLogServer), lit("|"), tag(AccessLogAttempts)}},
		{desc: "braces that open no tag are text", in: `{"a": "{status}"} { } {`,
			want: []AccessLogPart{lit(`{"a": "`), tag(AccessLogStatus), lit(`"} { } {`)}},
		{desc: "empty braces are text", in: "{}{uri}", want: []AccessLogPart{lit("{}"), tag(AccessLogURI)}},
		{desc: "preset", in: "tiny", want: []AccessLogPart{tag(AccessLogMethod), lit(" "), tag(AccessLogURI), lit(" "),
			tag(AccessLogStatus), lit(" "), tag(AccessLogSize), lit(" - "), tag(AccessLogLatencyHuman)}},
		{desc: "json", in: "json"},
		{desc: "unknown tag", in: "{host} {statsu}", err: `unknown access log tag {statsu} (did you mean "status"?)`},
		{desc: "unknown context tag", in: "{:upstream_adr}", err: `unknown access log tag {:upstream_adr} (did you mean ":upstream_addr"?)`},
		{desc: "Pingap's dashed names are not tags", in: "{client-ip}", err: "unknown access log tag {client-ip}"},
		{desc: "bad header name", in: "{>a(b}", err: `invalid name "a(b" in access log tag {>a(b}`},
		{desc: "empty header name", in: "{>}", err: `invalid name "" in access log tag {>}`},
		{desc: "empty", in: "  ", err: "empty access log format"},
		{desc: "control character", in: "{host}\n{path}", err: "contains a control character"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			f, err := ParseAccessLogFormat(tt.in)
			if tt.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.err) && !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.JSON != (tt.in == "json") || !slices.Equal(f.Parts, tt.want) {
				t.Fatalf("got %+v, want %+v", f, tt.want)
			}
		})
	}
}

// TestAccessLogTagsComplete checks that every tag constant has a name, and
// that every name parses back to a tag.
func TestAccessLogTagsComplete(t *testing.T) {
	t.Parallel()
	named := map[AccessLogTag]bool{}
	for _, tag := range accessLogTags {
		named[tag] = true
	}
	for _, tag := range accessLogNamed {
		named[tag] = true
	}
	for tag := AccessLogLiteral + 1; tag < accessLogTagEnd; tag++ {
		if !named[tag] {
			t.Errorf("tag %d has no name", tag)
		}
	}
	for _, name := range AccessLogTags() {
		in := strings.Replace(name, "Name", "X-Test", 1)
		f, err := ParseAccessLogFormat(in)
		if err != nil || len(f.Parts) != 1 || f.Parts[0].Tag == AccessLogLiteral {
			t.Errorf("%s: %+v, %v", in, f, err)
		}
	}
	for _, p := range []string{"combined", "common", "short", "tiny"} {
		if tmpl, ok := accessLogPresets[p]; !ok {
			t.Errorf("no preset %q", p)
		} else if _, err := ParseAccessLogFormat(tmpl); err != nil {
			t.Errorf("preset %q: %v", p, err)
		}
	}
}

func TestValidateAccessLog(t *testing.T) {
	t.Parallel()
	tests := []struct{ desc, settings, server, want string }{
		{desc: "valid file output", settings: "path = \"/var/log/pingap/access.log\"\nmax_size = \"10mb\"\nmax_age = \"7d\"\nmax_backups = 3\ncompress = true\nqueue_size = 1024\n",
			server: `access_log = "combined"`},
		{desc: "valid stdout", settings: "queue_size = 10\n", server: `access_log = "{host} {>X-Real-IP} {:upstream_addr}"`},
		{desc: "unknown tag", server: `access_log = "{host} {nope}"`,
			want: "servers.web.access_log (line 14): unknown access log tag {nope}"},
		{desc: "rotation without a file", settings: "max_size = \"10mb\"\nmax_backups = 2\ncompress = true\n",
			want: "settings.access_log.compress (line 5): only applies to a file: set settings.access_log.path\n" +
				"settings.access_log.max_backups (line 4): only applies to a file: set settings.access_log.path\n" +
				"settings.access_log.max_size (line 3): only applies to a file: set settings.access_log.path"},
		{desc: "small max_size", settings: "path = \"a.log\"\nmax_size = \"100kb\"\n",
			want: "settings.access_log.max_size (line 4): 102400 bytes is below 1mb (files rotate in whole megabytes)"},
		{desc: "directory", settings: "path = \"/var/log/\"\n", want: `settings.access_log.path (line 3): invalid file path "/var/log/"`},
		{desc: "huge queue", settings: "queue_size = 2000000\n", want: "settings.access_log.queue_size (line 3): 2000000 lines is more than 1048576"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			in := "[settings]\n[settings.access_log]\n" + tt.settings + "\n" + base + tt.server + "\n"
			got := validationErrors(t, in)
			for _, line := range strings.Split(tt.want, "\n") {
				if !strings.Contains(got, line) {
					t.Errorf("Validate =\n%s\nwant\n%s", got, tt.want)
				}
			}
			if tt.want == "" && got != "" {
				t.Errorf("Validate = %s, want no error", got)
			}
		})
	}
}
