package h1server

import "errors"

// ErrMalformedBody is wrapped by the error a request Body.Read returns when
// the body's framing is invalid (a bad chunk-size line, an over-long chunk
// extension, chunk data not followed by CRLF, a malformed trailer). The
// connection is closed after such a request.
var ErrMalformedBody = errors.New("h1server: malformed request body")

// errHandlerDone is returned by ResponseWriter methods used after the handler
// returned.
var errHandlerDone = errors.New("h1server: handler already returned")
