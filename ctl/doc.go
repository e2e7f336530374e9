// Package ctl is pingapctl: the command-line client of the control plane's
// admin API. It holds the API client (Client), the resolution of the
// server, token and cluster from flags, environment and a config file, and
// the cobra commands (validate, diff, apply, get, history, rollback, status,
// nodes, version, completion) with their output and exit codes. cmd/pingapctl
// only calls Main.
package ctl
