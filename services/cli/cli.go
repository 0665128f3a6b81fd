// Package cli is crawlspace's command line: one subcommand per stage, `all`
// for every stage in one process, and the commands that drive the pipeline
// (scan, notices load, migrate). Package main only calls [Run].
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Env is what a subcommand gets from the process: its arguments after the
// subcommand's name, the environment, and the standard streams.
type Env struct {
	Args   []string
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

type command struct {
	summary string
	run     func(ctx context.Context, env Env) error
}

var commands = map[string]command{
	"all":        {"run every stage in one process, with an embedded NATS server", runAll},
	"collector":  {"run scheduled collections and serve POST /v1/collect", runCollector},
	"collect":    {"collect names once: collect registry URL, collect hub", runCollect},
	"crawler":    {"crawl the images named on image.named", stageCommand("crawler")},
	"notices":    {"sync notices on a schedule; notices sync|list|show|load", runNotices},
	"matcher":    {"match crawled images against notices", stageCommand("matcher")},
	"compliance": {"check crawled images against best-practice rules", stageCommand("compliance")},
	"scan":       {"scan images; print packages, vulnerabilities and rule results", runScan},
	"crawl":      {"crawl one image without the pipeline or a database", runCrawl},
	"migrate":    {"apply the database schema", runMigrate},
	"version":    {"version compare --ecosystem E: compare versions read on stdin", runVersion},
}

// errUsage is returned after usage was printed for a bad command line.
var errUsage = errors.New("invalid command line")

// Run runs the subcommand args[0] with the rest of args. It returns when the
// command is done or ctx is cancelled. A nil stdin reads as empty.
func Run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader,
	stdout, stderr io.Writer) error {
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return nil
	}
	cmd, ok := commands[args[0]]
	if !ok {
		usage(stderr)
		return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
	return cmd.run(ctx, Env{Args: args[1:], Getenv: getenv, Stdin: stdin, Stdout: stdout,
		Stderr: stderr})
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: crawlspace COMMAND [flags] [args]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-11s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nEvery flag falls back to CRAWLSPACE_<FLAG>; run `crawlspace COMMAND -h`.")
}

// splitRefs trims and drops empty entries from refs.
func splitRefs(lines []string) []string {
	var out []string
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}
