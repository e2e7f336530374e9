// Package builtin assembles the registry of the plugins that ship with
// Pingap-Go. It is the one place that lists them.
package builtin

import "github.com/pingap-go/pingap/dataplane/plugin"

// Registry returns a new registry holding every built-in plugin.
func Registry() *plugin.Registry {
	r := plugin.NewRegistry()
	// Built-in plugins register here, one line each.
	return r
}
