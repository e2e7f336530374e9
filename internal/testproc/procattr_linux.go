//go:build linux

package testproc

import "syscall"

// SysProcAttr makes a child die with the test process, so a test binary
// killed by a timeout leaves no proxies or control planes behind. Start
// sets it; a test that runs a command itself sets it too.
func SysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
