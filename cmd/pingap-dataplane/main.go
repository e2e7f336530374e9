// Command pingap-dataplane is the data plane alone: `pingap-dataplane
// dataplane`, `validate` and `version` behave as in the all-in-one pingap
// binary, without the control plane and its embedded etcd linked in, so a
// proxy host runs less code and less memory (see docs/benchmarks.md).
package main

import (
	"os"

	"github.com/pingap-go/pingap/internal/cli"
)

func main() {
	root := cli.Root("pingap-dataplane", "Pingap-Go data plane", os.Stdout, os.Stderr)
	root.AddCommand(cli.DataplaneCmd(os.Stderr), cli.ValidateCmd(os.Stdout, os.Stderr), cli.VersionCmd(os.Stdout))
	if err := root.Execute(); err != nil {
		os.Exit(1)
	}
}
