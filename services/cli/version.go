package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"crawlspace.dev/services/matcher/version"
)

// runVersion runs `version compare`: it reads "A B" pairs on standard input
// and prints -1, 0 or 1 for each in the chosen ecosystem's order.
func runVersion(_ context.Context, env Env) error {
	if len(env.Args) == 0 || env.Args[0] != "compare" {
		return fmt.Errorf("%w: usage: version compare --ecosystem E < pairs", errUsage)
	}
	fs := flag.NewFlagSet("version compare", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	ecosystem := fs.String("ecosystem", "",
		"version order: "+strings.Join(version.Names(), ", "))
	if err := fs.Parse(env.Args[1:]); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	s, ok := version.For(*ecosystem)
	if !ok {
		return fmt.Errorf("%w: unknown ecosystem %q (want one of %s)", errUsage, *ecosystem,
			strings.Join(version.Names(), ", "))
	}
	err := version.CompareLines(env.Stdin, env.Stdout, env.Stderr, s)
	if errors.Is(err, version.ErrBadLines) {
		return fmt.Errorf("version compare: %w", err)
	}
	return err
}
