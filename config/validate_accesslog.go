package config

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// This file holds the access log's config: the template language of
// servers' access_log (parsed here so that validation and the data plane
// read a format the same way) and the checks of settings.access_log.

// MaxAccessLogQueueSize is the largest settings.access_log.queue_size.
const MaxAccessLogQueueSize = 1 << 20

// minAccessLogMaxSize is the smallest max_size: files rotate in whole
// megabytes.
const minAccessLogMaxSize = 1 << 20

// AccessLogTag is a value an access log template can write.
type AccessLogTag uint8

// The tags of an access log template. AccessLogLiteral is text copied as
// written.
const (
	AccessLogLiteral              AccessLogTag = iota
	AccessLogHost                              // {host}: the Host header
	AccessLogMethod                            // {method}
	AccessLogPath                              // {path}: the path as sent (percent-encoded)
	AccessLogProto                             // {proto}: "HTTP/1.1", "HTTP/2.0"
	AccessLogQuery                             // {query}: the query without "?"
	AccessLogRemote                            // {remote}: the peer's IP address
	AccessLogClientIP                          // {client_ip}: the client, through trusted proxies
	AccessLogScheme                            // {scheme}: "http" or "https"
	AccessLogURI                               // {uri}: path and query as sent
	AccessLogReferer                           // {referer}
	AccessLogUserAgent                         // {user_agent}
	AccessLogWhen                              // {when}: local time, RFC 3339 with milliseconds
	AccessLogWhenUTCISO                        // {when_utc_iso}: UTC time, RFC 3339 with milliseconds
	AccessLogWhenUnix                          // {when_unix}: Unix time in milliseconds
	AccessLogSize                              // {size}: response body bytes
	AccessLogSizeHuman                         // {size_human}: response body size, "1.5KB"
	AccessLogStatus                            // {status}
	AccessLogLatency                           // {latency}: milliseconds
	AccessLogLatencyHuman                      // {latency_human}: "12ms", "1.5s"
	AccessLogPayloadSize                       // {payload_size}: request body bytes
	AccessLogPayloadSizeHuman                  // {payload_size_human}
	AccessLogRequestID                         // {request_id}: set by the request_id plugin
	AccessLogTraceID                           // {trace_id}: set when the request is traced
	AccessLogRequestHeader                     // {>Name}: a request header
	AccessLogResponseHeader                    // {<Name}: a response header
	AccessLogCookie                            // {~name}: a request cookie
	AccessLogUpstreamAddr                      // {:upstream_addr}: the target of the last attempt
	AccessLogUpstream                          // {:upstream}: the upstream's name
	AccessLogUpstreamResponseTime              // {:upstream_response_time}: milliseconds to the target's response headers
	AccessLogLocation                          // {:location}: the matched location's name
	AccessLogServer                            // {:server}: the server's name
	AccessLogAttempts                          // {:attempts}: attempts sent upstream (retries + 1)
	AccessLogEnv                               // {$NAME}: the data plane's environment variable NAME ({$hostname}: its host name), read when the config is built
	accessLogTagEnd
)

// accessLogTags maps the plain tags (those without a name argument) to
// their values; the only list of tag names.
var accessLogTags = map[string]AccessLogTag{
	"host": AccessLogHost, "method": AccessLogMethod, "path": AccessLogPath,
	"proto": AccessLogProto, "query": AccessLogQuery, "remote": AccessLogRemote,
	"client_ip": AccessLogClientIP, "scheme": AccessLogScheme, "uri": AccessLogURI,
	"referer": AccessLogReferer, "user_agent": AccessLogUserAgent,
	"when": AccessLogWhen, "when_utc_iso": AccessLogWhenUTCISO, "when_unix": AccessLogWhenUnix,
	"size": AccessLogSize, "size_human": AccessLogSizeHuman, "status": AccessLogStatus,
	"latency": AccessLogLatency, "latency_human": AccessLogLatencyHuman,
	"payload_size": AccessLogPayloadSize, "payload_size_human": AccessLogPayloadSizeHuman,
	"request_id": AccessLogRequestID, "trace_id": AccessLogTraceID,
	":upstream_addr": AccessLogUpstreamAddr, ":upstream": AccessLogUpstream,
	":upstream_response_time": AccessLogUpstreamResponseTime, ":location": AccessLogLocation,
	":server": AccessLogServer, ":attempts": AccessLogAttempts,
}

// Prefixes of the tags that take a name: {>Name}, {<Name}, {~name}.
var accessLogNamed = map[byte]AccessLogTag{
	'>': AccessLogRequestHeader, '<': AccessLogResponseHeader, '~': AccessLogCookie, '$': AccessLogEnv,
}

// AccessLogTags returns every tag as written in a template, the named ones
// with "Name" as their argument ("{>Name}"), sorted.
func AccessLogTags() []string {
	out := make([]string, 0, len(accessLogTags)+len(accessLogNamed))
	for name := range accessLogTags {
		out = append(out, "{"+name+"}")
	}
	for prefix := range accessLogNamed {
		out = append(out, "{"+string(prefix)+"Name}")
	}
	slices.Sort(out)
	return out
}

// accessLogPresets are the named formats a server's access_log may use
// instead of a template (Pingap's presets; "json" is not a template).
var accessLogPresets = map[string]string{
	"combined": `{client_ip} - - [{when}] "{method} {uri} {proto}" {status} {size} "{referer}" "{user_agent}"`,
	"common":   `{client_ip} - - [{when}] "{method} {uri} {proto}" {status} {size}`,
	"short":    `{client_ip} - {method} {uri} {proto} {status} {size} - {latency_human}`,
	"tiny":     `{method} {uri} {status} {size} - {latency_human}`,
}

// AccessLogJSON is the access_log value that writes one JSON object per
// line.
const AccessLogJSON = "json"

// AccessLogPart is one piece of a parsed template.
type AccessLogPart struct {
	// Tag is what the piece writes.
	Tag AccessLogTag
	// Text is the literal text of an AccessLogLiteral, the canonical header
	// name of {>Name} and {<Name}, or the cookie name of {~name}; empty
	// for other tags.
	Text string
}

// AccessLogFormat is a parsed access_log value.
type AccessLogFormat struct {
	// JSON is set for "json": one JSON object per line with fixed keys.
	JSON bool
	// Parts is the template, presets expanded; nil when JSON.
	Parts []AccessLogPart
}

// ParseAccessLogFormat parses a server's access_log: a preset ("combined",
// "common", "short", "tiny", "json") or a template. In a template, "{tag}"
// is replaced by a request's value and every other character is kept; a
// "{" that does not open a tag (followed by a space, a quote or no "}") is
// literal text. An unknown tag is an error naming it.
func ParseAccessLogFormat(s string) (AccessLogFormat, error) {
	if s == AccessLogJSON {
		return AccessLogFormat{JSON: true}, nil
	}
	if t, ok := accessLogPresets[s]; ok {
		s = t
	}
	if strings.TrimSpace(s) == "" {
		return AccessLogFormat{}, fmt.Errorf("empty access log format")
	}
	var parts []AccessLogPart
	literal := func(text string) {
		if n := len(parts); n > 0 && parts[n-1].Tag == AccessLogLiteral {
			parts[n-1].Text += text
			return
		}
		parts = append(parts, AccessLogPart{Tag: AccessLogLiteral, Text: text})
	}
	for rest := s; rest != ""; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			literal(rest)
			break
		}
		if i > 0 {
			literal(rest[:i])
		}
		name, ok := tagName(rest[i:])
		if !ok {
			literal("{")
			rest = rest[i+1:]
			continue
		}
		p, err := parseAccessLogTag(name)
		if err != nil {
			return AccessLogFormat{}, err
		}
		parts = append(parts, p)
		rest = rest[i+len(name)+2:]
	}
	for _, p := range parts {
		if p.Tag == AccessLogLiteral && strings.ContainsFunc(p.Text, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return AccessLogFormat{}, fmt.Errorf("access log format %q contains a control character (one line per request)", s)
		}
	}
	return AccessLogFormat{Parts: parts}, nil
}

// tagName returns the name of the tag s starts with ("{name}"): no space,
// quote or brace inside.
func tagName(s string) (string, bool) {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '}':
			return s[1:i], i > 1
		case ' ', '\t', '"', '\'', '{':
			return "", false
		}
	}
	return "", false
}

// parseAccessLogTag parses the name of one tag.
func parseAccessLogTag(name string) (AccessLogPart, error) {
	if tag, ok := accessLogTags[name]; ok {
		return AccessLogPart{Tag: tag}, nil
	}
	if tag, ok := accessLogNamed[name[0]]; ok {
		arg := name[1:]
		if !ValidHeaderName(arg) {
			return AccessLogPart{}, fmt.Errorf("invalid name %q in access log tag {%s}", arg, name)
		}
		if tag == AccessLogRequestHeader || tag == AccessLogResponseHeader {
			arg = http.CanonicalHeaderKey(arg)
		}
		return AccessLogPart{Tag: tag, Text: arg}, nil
	}
	known := slices.Sorted(maps.Keys(accessLogTags))
	return AccessLogPart{}, fmt.Errorf("unknown access log tag {%s}%s", name, suggestName(name, known))
}

// serverAccessLog checks a server's access_log format.
func (v *validator) serverAccessLog(path string, srv *pb.Server) {
	if f := srv.GetAccessLog(); f != "" {
		if _, err := ParseAccessLogFormat(f); err != nil {
			v.fail(path+".access_log", "%v", err)
		}
	}
}

// accessLogOutput checks settings.access_log.
func (v *validator) accessLogOutput(o *pb.AccessLogOutput) {
	const path = "settings.access_log"
	if o == nil {
		return
	}
	if p := o.GetPath(); p == "" {
		fileOnly := map[string]bool{
			"max_size": o.GetMaxSize() != 0, "max_age": o.GetMaxAge() != nil,
			"max_backups": o.GetMaxBackups() != 0, "compress": o.GetCompress(),
		}
		for _, f := range slices.Sorted(maps.Keys(fileOnly)) {
			if fileOnly[f] {
				v.fail(path+"."+f, "only applies to a file: set %s.path", path)
			}
		}
	} else if strings.HasSuffix(p, "/") || strings.ContainsRune(p, 0) {
		v.fail(path+".path", "invalid file path %q", p)
	}
	if n := o.GetMaxSize(); n != 0 && n < minAccessLogMaxSize {
		v.fail(path+".max_size", "%d bytes is below 1mb (files rotate in whole megabytes)", n)
	}
	if n := o.GetQueueSize(); n > MaxAccessLogQueueSize {
		v.fail(path+".queue_size", "%d lines is more than %d", n, MaxAccessLogQueueSize)
	}
}
