package main

import "syscall"

// childAttr makes the kernel kill the agents' process with this one.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
