// Package h1server is the data plane's own HTTP/1.1 server loop: it serves a
// standard http.Handler over plain (or already handshaken TLS) connections,
// with fewer allocations than net/http's server and stricter parsing.
//
// # Strictness
//
// Requests are parsed the way nginx parses them and request-smuggling shapes
// never reach the handler:
//
//   - the request line is exactly "METHOD SP request-target SP HTTP/1.x";
//     leading empty lines are skipped; HTTP/1.0 and HTTP/1.1 are served, any
//     other well-formed version gets 505, anything else 400;
//   - the target is origin-form ("/path?query"), absolute-form ("http://host/path",
//     whose host then becomes Request.Host, as in net/http) or "*" for OPTIONS;
//     authority-form (CONNECT host:port) is not served: 400;
//   - header names are tokens with no whitespace before the colon; obs-fold
//     (continuation lines) is rejected; values must not hold control bytes other
//     than horizontal tab; lines end in CRLF or a bare LF (as nginx accepts),
//     a bare CR is rejected;
//   - HTTP/1.1 requires exactly one Host header field, HTTP/1.0 at most one;
//   - Content-Length together with Transfer-Encoding, a repeated Content-Length
//     (even with the same value), a Content-Length that is not a plain decimal
//     number, a Transfer-Encoding in an HTTP/1.0 request, more than one
//     Transfer-Encoding field, or a coding list whose final coding is not
//     "chunked" all get 400; a valid list that ends in chunked but carries
//     other codings ("gzip, chunked") gets 501 Not Implemented;
//   - an Expect other than 100-continue gets 417;
//   - request line and headers over Config.MaxHeaderBytes, or more than
//     Config.MaxHeaderCount fields, get 431.
//
// Every rejected request is answered with "Connection: close" and the
// connection is closed after a short lingering drain, so the client reads the
// status instead of a reset.
//
// Chunked bodies are decoded strictly: a chunk-size is 1 to 16 hex digits with
// no prefix or sign, chunk extensions are limited (1 KiB per line, 16 KiB per
// body), chunk data must be followed by CRLF. On a framing error Body.Read
// returns an error wrapping ErrMalformedBody, the connection is closed after
// the response, and if the handler has written nothing to the wire when it
// returns, the client gets 400 instead of whatever the handler buffered.
// Trailer fields of a chunked body are merged into Request.Trailer when the body
// reaches EOF (Content-Length, Transfer-Encoding, Host and Trailer are dropped).
//
// # Differences from net/http's server
//
//   - There is no background read per request: a client that disconnects while
//     its handler runs is not detected until a write to it fails. A failed
//     write cancels the request's context; the context is always cancelled
//     when the handler returns.
//   - No Content-Type is sniffed: a response carries the Content-Type its
//     handler set, or none. For a proxy this is the faithful choice.
//   - "Upgrade: h2c" requests are served as plain HTTP/1.1 (the upgrade is
//     ignored); HTTP/2 over cleartext is available only with prior knowledge,
//     handed to Config.H2.
//   - Reading a request body after the response has been written is allowed
//     (full duplex is always on).
//   - A panicking handler (other than with http.ErrAbortHandler) is logged
//     with its stack; if nothing was sent yet, the client gets 500, then the
//     connection closes.
//   - The server writes the status line as HTTP/1.1 for HTTP/1.0 requests
//     too, and answers with Content-Length or by closing the connection,
//     never with chunked encoding, in that case.
//   - A request's context is not derived from a cancelable context per
//     request (unless Config.BaseContext returns a cancelable one): the server
//     uses its own light context type that supports context.AfterFunc, so
//     derived contexts cost no goroutine.
//
// # Responses
//
// A handler's first 4 KiB of body are buffered: a handler that returns within
// them gets a Content-Length, a larger or flushed response is chunked
// (HTTP/1.1) or close-delimited (HTTP/1.0). HEAD, 1xx, 204 and 304 responses
// carry no body (writes get http.ErrBodyNotAllowed, except HEAD where they
// are counted for Content-Length). Trailers are sent when declared with the
// Trailer header or set with http.TrailerPrefix. "100 Continue" is sent on the
// first Body.Read of a request that expects it; if the handler answers without
// reading, no 100 is sent and the connection closes after the response. After
// the response, up to 256 KiB of unread body are discarded to keep the
// connection; a larger declared remainder closes it ("Connection: close" is
// announced when known in time).
//
// # Cost
//
// Each connection takes a 4 KiB bufio.Reader and Writer from sync.Pools and
// one goroutine; a keep-alive GET whose handler writes 13 bytes costs 5
// allocations (the http.Request, one block of per-request state holding the
// URL, context, body reader and header value slots, the head as one string
// that every header value and the path are sliced from, and the header map).
// See BenchmarkServe and TestAllocsPerRequest.
package h1server
