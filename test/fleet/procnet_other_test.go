//go:build !linux

package fleet

import "errors"

// listenAddrs needs Linux's /proc.
func listenAddrs(int) ([]string, error) {
	return nil, errors.New("finding a process's listening sockets needs Linux's /proc")
}
