package upstream

import "errors"

// ErrNoTarget is returned by [Upstream.Pick] when no target is usable (and
// fail_open is off).
var ErrNoTarget = errors.New("upstream: no healthy target")
