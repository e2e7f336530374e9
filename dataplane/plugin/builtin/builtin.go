// Package builtin assembles the registry of the plugins that ship with
// Pingap-Go. It is the one place that lists them.
package builtin

import (
	"github.com/pingap-go/pingap/dataplane/plugin"
	"github.com/pingap-go/pingap/dataplane/plugin/acceptencoding"
	"github.com/pingap-go/pingap/dataplane/plugin/basicauth"
	"github.com/pingap-go/pingap/dataplane/plugin/cache"
	"github.com/pingap-go/pingap/dataplane/plugin/combinedauth"
	"github.com/pingap-go/pingap/dataplane/plugin/compression"
	"github.com/pingap-go/pingap/dataplane/plugin/cors"
	"github.com/pingap-go/pingap/dataplane/plugin/csrf"
	"github.com/pingap-go/pingap/dataplane/plugin/directory"
	"github.com/pingap-go/pingap/dataplane/plugin/forwardauth"
	"github.com/pingap-go/pingap/dataplane/plugin/iprestriction"
	"github.com/pingap-go/pingap/dataplane/plugin/jwtauth"
	"github.com/pingap-go/pingap/dataplane/plugin/keyauth"
	"github.com/pingap-go/pingap/dataplane/plugin/limit"
	"github.com/pingap-go/pingap/dataplane/plugin/mock"
	"github.com/pingap-go/pingap/dataplane/plugin/ping"
	"github.com/pingap-go/pingap/dataplane/plugin/redirect"
	"github.com/pingap-go/pingap/dataplane/plugin/refererrestriction"
	"github.com/pingap-go/pingap/dataplane/plugin/requestid"
	"github.com/pingap-go/pingap/dataplane/plugin/responseheaders"
	"github.com/pingap-go/pingap/dataplane/plugin/stats"
	"github.com/pingap-go/pingap/dataplane/plugin/subfilter"
	"github.com/pingap-go/pingap/dataplane/plugin/trafficsplit"
	"github.com/pingap-go/pingap/dataplane/plugin/uarestriction"
)

// Registry returns a new registry holding every built-in plugin.
func Registry() *plugin.Registry {
	r := plugin.NewRegistry()
	ping.Register(r)
	mock.Register(r)
	redirect.Register(r)
	iprestriction.Register(r)
	responseheaders.Register(r)
	uarestriction.Register(r)
	refererrestriction.Register(r)
	cors.Register(r)
	requestid.Register(r)
	keyauth.Register(r)
	basicauth.Register(r)
	forwardauth.Register(r)
	jwtauth.Register(r)
	trafficsplit.Register(r)
	stats.Register(r)
	combinedauth.Register(r)
	csrf.Register(r)
	limit.Register(r)
	directory.Register(r)
	compression.Register(r)
	acceptencoding.Register(r)
	subfilter.Register(r)
	cache.Register(r)
	return r
}
