//go:build linux

package testproc

import (
	"os/exec"
	"syscall"
)

// orphanProof makes the child die with the test process, so a test binary
// killed by a timeout leaves no proxies or control planes behind.
func orphanProof(cmd *exec.Cmd) { cmd.SysProcAttr = SysProcAttr() }

// SysProcAttr is what makes a command the test runs itself die with the
// test process.
func SysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
