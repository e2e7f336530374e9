package ctl

import (
	"os/exec"
	"syscall"
)

// orphanProof makes the kernel kill the child when the test process dies.
func orphanProof(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
