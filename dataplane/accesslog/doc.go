// Package accesslog writes the data plane's access logs: one line per
// request, in a format each server chooses with access_log, queued to one
// Writer that the data plane's servers share.
//
// # Formats
//
// A format is compiled once (Compile) into a list of appenders; a request
// is formatted by appending to a pooled buffer, with no parsing and no
// allocation in the common case. The presets are Pingap's:
//
//	combined  {client_ip} - - [{when}] "{method} {uri} {proto}" {status} {size} "{referer}" "{user_agent}"
//	common    {client_ip} - - [{when}] "{method} {uri} {proto}" {status} {size}
//	short     {client_ip} - {method} {uri} {proto} {status} {size} - {latency_human}
//	tiny      {method} {uri} {status} {size} - {latency_human}
//
// combined and common are nginx's (and Apache's) formats of the same names,
// with the client address resolved through the trusted proxies and the time
// in RFC 3339; short and tiny are morgan's, which Pingap took.
//
// "json" writes one JSON object per line with the keys time (UTC, RFC 3339
// with milliseconds), host, method, path, query, proto, status, bytes_in,
// bytes_out, latency_ms (a number with microseconds as decimals), client_ip,
// remote_addr (the peer's IP), request_id, trace_id, upstream,
// upstream_addr, upstream_ms (null when no target was tried), attempts,
// server, location, referer and user_agent. Strings are escaped as
// encoding/json escapes them, so a line is valid JSON whatever a client
// sends.
//
// Any other value is a template of tags (config.ParseAccessLogFormat lists
// them; docs/operations.md explains each). In a template an empty value is
// written "-", as nginx does, and a value's '"', '\\', control characters
// and invalid UTF-8 bytes are written as \xHH, so that a client cannot
// forge a line or a field.
//
// # Output
//
// Writer owns a bounded queue drained by one goroutine into standard output
// or a file rotated by lumberjack. Queuing never blocks a request: when the
// queue is full the line is dropped and counted
// (pingap_access_log_dropped_total). Lines are written in batches, at least
// every second, and Close writes what is queued before it returns.
package accesslog
