package h1client

import (
	"context"
	"errors"
	"net"
)

// Sentinel errors, wrapped in an [*Error]; check them with errors.Is.
var (
	// ErrInvalidRequest reports a request that cannot be written: a bad
	// method, header name or value (CR/LF injection included), target URI
	// or Host. Nothing is written to any connection.
	ErrInvalidRequest = errors.New("h1client: invalid request")

	// ErrBodyLength reports a request body shorter or longer than its
	// ContentLength.
	ErrBodyLength = errors.New("h1client: request body length does not match ContentLength")

	// ErrMalformedResponse reports a response that is not valid HTTP/1.x:
	// bad status line, header line, Content-Length, transfer coding or chunk.
	ErrMalformedResponse = errors.New("h1client: malformed response")

	// ErrHeaderTooLarge reports response headers over 1 MiB.
	ErrHeaderTooLarge = errors.New("h1client: response header too large")

	// ErrBodyClosed is returned by a response body's Read after Close.
	ErrBodyClosed = errors.New("h1client: read on closed response body")

	// errWriterStopped fails the body writer's writes once the caller has
	// stopped it.
	errWriterStopped = errors.New("h1client: request body not sent in full: the response came first")

	// errServerClosedIdle marks a reused connection closed by the target
	// before any response byte arrived.
	errServerClosedIdle = errors.New("h1client: connection closed by target before response")
)

// Operations named in [Error.Op].
const (
	OpRequest    = "request"     // validating the request; nothing was dialed
	OpWait       = "wait"        // waiting for a connection (MaxConnsPerTarget)
	OpDial       = "dial"        // connecting, TLS handshake included
	OpWrite      = "write"       // writing the request head or body
	OpReadHeader = "read header" // reading the response head
	OpReadBody   = "read body"   // reading the response body
)

// Error is the error returned by [Client.RoundTrip] and by response body
// reads.
type Error struct {
	// Op is the operation that failed: one of the Op constants.
	Op string
	// Addr is the target address, "host:port".
	Addr string
	// Err is the underlying error.
	Err error
	// Sent reports whether any byte of the request reached the connection.
	// When false the target cannot have seen the request, so the caller may
	// retry it on another target even if it is not idempotent.
	Sent bool
}

// Error implements error.
func (e *Error) Error() string {
	return "h1client: " + e.Op + " " + e.Addr + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Timeout reports whether the error is a timeout: a dial, write or
// response-header deadline, or an expired context deadline.
func (e *Error) Timeout() bool {
	if errors.Is(e.Err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(e.Err, &ne) && ne.Timeout()
}

// IsRetryable reports whether err is a [Client.RoundTrip] failure where no
// byte of the request was sent: a failed dial or a connection that failed
// before anything was written. Such a request may be retried on another
// target whatever its method. Invalid requests and cancelled contexts are not
// retryable.
func IsRetryable(err error) bool {
	var e *Error
	if !errors.As(err, &e) || e.Sent {
		return false
	}
	switch e.Op {
	case OpDial, OpWrite:
	default:
		return false
	}
	return !errors.Is(e.Err, context.Canceled)
}
