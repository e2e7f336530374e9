// Package proxy is the data plane's request path: it dispatches a request
// to the location its server's router picks, applies the location's rewrite
// and header rules, and forwards it to a target of the location's upstream,
// streaming bodies both ways.
//
// Everything a request needs is compiled once per config (see Location and
// Server); the handlers only read immutable state, so a new config is
// swapped in by replacing the Server a listener points to.
package proxy
