// Command pingap is Pingap-Go in one binary: the data plane, a
// control-plane replica, the all-in-one dev mode, and config validation.
// Data-plane hosts may run cmd/pingap-dataplane instead, which leaves the
// control plane (and its embedded etcd) out.
package main

import (
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/pingap-go/pingap/internal/cli"
)

func main() {
	if err := newRootCmd(os.Stdout, os.Stderr).Execute(); err != nil {
		os.Exit(1)
	}
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := cli.Root("pingap", "Pingap-Go: a reverse proxy and API gateway run as a fleet", stdout, stderr)
	root.AddCommand(cli.DataplaneCmd(stderr), newControlplaneCmd(stderr), newDevCmd(stdout, stderr),
		cli.ValidateCmd(stdout, stderr), cli.VersionCmd(stdout))
	return root
}
