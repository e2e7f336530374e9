package discovery

import "errors"

var (
	// ErrNoVersion is what a Source returns (wrapped or not) from Current
	// when the cluster has no version yet. Options.IsNotFound can name the
	// store's own not-found errors too.
	ErrNoVersion = errors.New("discovery: cluster has no version")
	// ErrUnauthenticated is for Options.Authenticate to return (wrapped or
	// not): the stream ends with codes.Unauthenticated. Any other error
	// without a gRPC status does too.
	ErrUnauthenticated = errors.New("discovery: unauthenticated")
	// ErrPermissionDenied is for Options.Authenticate to return (wrapped
	// or not): the stream ends with codes.PermissionDenied.
	ErrPermissionDenied = errors.New("discovery: permission denied")
)
