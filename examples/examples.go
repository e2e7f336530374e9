// Package examples embeds the example configs, so `pingap dev` can apply
// the quick-start config without the source tree.
package examples

import _ "embed"

// Quickstart is examples/quickstart.toml.
//
//go:embed quickstart.toml
var Quickstart []byte
