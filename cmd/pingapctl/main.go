// Command pingapctl is the command-line client of a Pingap-Go fleet's
// control plane: validate, diff, apply, get, history, rollback, status and
// nodes. The commands live in package ctl.
package main

import (
	"os"

	"github.com/pingap-go/pingap/ctl"
)

func main() {
	os.Exit(ctl.Main(os.Args[1:], ctl.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.Getenv))
}
