package ctl

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/pingap-go/pingap/config"
)

// This file turns failures into what the user reads: every message says
// what went wrong and what to do next, and picks the exit code.

// printErrors prints a validation error list, one `file: path (line N):
// message` per line, and returns the error for exit code 2.
func (a *app) printErrors(list config.ErrorList) error {
	for _, e := range list {
		a.errf("%s\n", e.Error())
	}
	n := len(list)
	word := "errors"
	if n == 1 {
		word = "error"
	}
	a.errf("validation failed: %d %s\n", n, word)
	return printed(ExitInvalid, fmt.Errorf("validation failed: %d %s", n, word))
}

// failure reports err from the admin API (or from reaching it) and returns
// the error with its exit code. src, when not nil, fills in the files and
// lines of validation errors the control plane found in an upload.
func (a *app) failure(err error, s Settings, src *config.Source) error {
	var ae *APIError
	if !errors.As(err, &ae) {
		var ue *url.Error
		var ne net.Error
		if errors.As(err, &ue) || errors.As(err, &ne) {
			cause := rootCause(err)
			a.errf("error: cannot reach the control plane at %s: %v\n", s.Server, cause)
			if strings.Contains(cause.Error(), "x509:") || strings.Contains(cause.Error(), "tls:") {
				a.errf("its TLS certificate is not trusted here: give its CA with --ca (or PINGAP_CA)\n")
			} else {
				a.errf("check that it is running and that --server or PINGAP_SERVER points at its admin API\n")
			}
			return printed(ExitFailure, err)
		}
		a.errf("error: %v\n", err)
		return printed(ExitFailure, err)
	}
	switch ae.Code {
	case "unauthorized":
		if s.Token == "" {
			a.errf("error: the control plane wants a token (401 unauthorized): set PINGAP_TOKEN or --token\n")
		} else {
			a.errf("error: the control plane refused the token (401 unauthorized): set PINGAP_TOKEN or --token to a valid admin API token\n")
		}
		return printed(ExitFailure, err)
	case "forbidden":
		a.errf("error: the token may not do this (403 forbidden: %s)\n", ae.Message)
		a.errf("writes need a token with the admin role: set PINGAP_TOKEN or --token to one\n")
		return printed(ExitFailure, err)
	case "invalid_config":
		list := ae.Errors
		if len(list) == 0 {
			list = config.ErrorList{{Msg: ae.Message}}
		}
		if src != nil {
			_ = src.Annotate(list)
		}
		a.errf("the control plane rejected the config:\n")
		return a.printErrors(list)
	case "not_found":
		a.errf("error: not found: %s\n", ae.Message)
		a.errf("check --cluster (now %q) and the version or node asked for; `pingapctl history` lists the versions\n", s.Cluster)
		return printed(ExitFailure, err)
	}
	a.errf("error: the control plane answered %d %s: %s\n", ae.Status, ae.Code, ae.Message)
	return printed(ExitFailure, err)
}

// conflict reports a 409 of apply or rollback: what the current version
// is (current, 0 when unknown) and how to retry; retry may say CURRENT for
// the current version.
func (a *app) conflict(err error, asked, current uint64, retry string) error {
	cur := "unknown"
	if current > 0 {
		cur = fmt.Sprint(current)
	}
	a.errf("error: conflict: --if-version %d is not the cluster's current version\n", asked)
	a.errf("the current version is %s; %s\n", cur, strings.ReplaceAll(retry, "CURRENT", cur))
	return printed(ExitConflict, err)
}

// rootCause strips the wrapping of a transport error down to what the
// network said.
func rootCause(err error) error {
	for {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
			continue
		}
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Err != nil {
			return oe
		}
		return err
	}
}
