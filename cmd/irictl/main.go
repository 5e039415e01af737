// Command irictl talks to an IRI runtime (a provider or a broker) over its
// unix socket: list, get, create, delete and watch machines, volumes and
// buckets, and show what a runtime offers. See docs/irictl.md.
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
