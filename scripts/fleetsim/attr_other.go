//go:build !linux

package main

import "syscall"

// childAttr: elsewhere the child stops when its stdin (our pipe) closes.
func childAttr() *syscall.SysProcAttr { return nil }
