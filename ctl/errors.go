package ctl

import (
	"errors"
	"fmt"
)

// Exit codes of pingapctl.
const (
	// ExitOK: the command did what was asked.
	ExitOK = 0
	// ExitFailure: any other failure (usage, network, authentication, server).
	ExitFailure = 1
	// ExitInvalid: the configuration failed validation.
	ExitInvalid = 2
	// ExitConflict: --if-version did not match the current version.
	ExitConflict = 3
	// ExitNotConverged: --wait saw a node reject the version, or timed out.
	ExitNotConverged = 4
)

// ExitError is an error with the exit code it should end pingapctl with.
// Its message has already been printed when Printed is true.
type ExitError struct {
	// Code is the process exit code.
	Code int
	// Err is the cause.
	Err error
	// Printed says the command already told the user; Main prints nothing
	// more.
	Printed bool
}

func (e *ExitError) Error() string { return e.Err.Error() }

func (e *ExitError) Unwrap() error { return e.Err }

// exitCode returns the exit code err asks for: ExitError's, else
// ExitFailure for any non-nil error.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return ExitFailure
}

// printed wraps err as already reported to the user, with exit code code.
func printed(code int, err error) error {
	return &ExitError{Code: code, Err: err, Printed: true}
}

// withCode wraps err with exit code code; Main prints it.
func withCode(code int, format string, args ...any) error {
	return &ExitError{Code: code, Err: fmt.Errorf(format, args...)}
}

// errChanges ends `diff --exit-code` with exit code 1 when there are
// changes, as `git diff --exit-code` does.
var errChanges = errors.New("the configs differ")
