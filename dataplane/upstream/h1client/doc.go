// Package h1client is a synchronous HTTP/1.1 client for talking to upstream
// targets: an [http.RoundTripper] that does the whole round trip on the
// caller's goroutine.
//
// [http.Transport] runs a read loop and a write loop goroutine per
// connection and hands every request to them over channels; in a reverse
// proxy that hand-off is most of the forwarding cost. [Client] instead takes
// a keep-alive connection from a per-target pool, writes the request head by
// hand into the connection's buffered writer, and parses the response head
// from the connection's buffered reader, all on the goroutine that called
// RoundTrip. A helper goroutine is started only to stream a request body
// of unknown length or one that does not fit in the write buffer, so that a
// target answering early (a 413 while the upload is still being sent)
// cannot deadlock the caller.
//
// What it speaks: HTTP/1.1 (and HTTP/1.0 responses) over TCP or TLS.
// HTTP/2 is out of scope; use another transport for h2 targets. The client
// ignores req.URL.Scheme: TLS is used iff [Options.TLSConfig] is set.
//
// Behaviour worth knowing:
//
//   - "Expect: 100-continue" is forwarded as the caller set it, but the body
//     is sent without waiting for the interim response. 1xx responses other
//     than 101 are read and skipped.
//   - The response-header timeout starts when the whole request (head and
//     body) has been written; while a large body is still being sent only
//     the context and [Options.WriteTimeout] bound the wait.
//   - If the final response arrives before the request body has been sent
//     in full, the client waits briefly for the upload to finish, then stops
//     sending, returns the response and does not reuse the connection.
//   - A 101 Switching Protocols response is returned with a Body that is an
//     [io.ReadWriteCloser] over the raw connection; that connection is never
//     pooled and is no longer watched by the request context.
//   - Before reusing a connection idle for 250ms or more, the client checks
//     without blocking that the target has not closed it. A request that
//     fails on a reused connection before any byte reached it is retried
//     once on a new connection; so is a request without a body and with an
//     idempotent method when a reused connection is closed before any
//     response byte.
package h1client
