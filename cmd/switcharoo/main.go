// Command switcharoo moves a live MySQL database to a new home with seconds
// of write downtime and a way back. This package only parses the command
// line, loads the config and calls one package per command; see docs/cli.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
