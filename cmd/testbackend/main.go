// Command testbackend is a real HTTP backend for end-to-end tests,
// benchmarks and demos: testbackend --listen 127.0.0.1:9001[,ADDR...] --name NAME.
// See package internal/testbackend for its endpoints.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/pingap-go/pingap/internal/testbackend"
)

func main() {
	fs := flag.NewFlagSet("testbackend", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:9001", "comma-separated listen addresses; port 0 picks a free port")
	name := fs.String("name", "backend", "backend name, the NAME of the X-Backend: NAME@ADDR response header")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	addrs, err := testbackend.ParseAddrs(*listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := run(*name, addrs); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run serves until SIGTERM or an interrupt.
func run(name string, addrs []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	return testbackend.Serve(ctx, name, addrs, os.Stdout)
}
