package upstream

import "errors"

// ErrNoTarget is returned by [Upstream.Pick] when no target is healthy.
var ErrNoTarget = errors.New("upstream: no healthy target")
