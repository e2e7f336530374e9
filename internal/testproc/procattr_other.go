//go:build !linux

package testproc

import (
	"os/exec"
	"syscall"
)

// orphanProof does nothing where Pdeathsig does not exist.
func orphanProof(cmd *exec.Cmd) { cmd.SysProcAttr = SysProcAttr() }

// SysProcAttr is nil where Pdeathsig does not exist.
func SysProcAttr() *syscall.SysProcAttr { return nil }
