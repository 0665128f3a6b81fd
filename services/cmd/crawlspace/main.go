// Command crawlspace runs the stages of the crawlspace pipeline, together or
// one at a time, and the commands that drive it. Run `crawlspace help`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"crawlspace.dev/services/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.Run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "crawlspace:", err)
		os.Exit(1)
	}
}
