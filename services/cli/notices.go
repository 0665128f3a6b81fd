package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"crawlspace.dev/services/notices"
	"crawlspace.dev/services/platform/config"
)

// runNotices runs the notices stage, or one of its subcommands: sync,
// list, show, and load (sync under its former name).
func runNotices(ctx context.Context, env Env) error {
	if len(env.Args) > 0 {
		sub := map[string]func(context.Context, Env) error{
			"sync": runNoticesSync, "load": runNoticesLoad,
			"list": runNoticesList, "show": runNoticesShow,
		}[env.Args[0]]
		if sub != nil {
			env.Args = env.Args[1:]
			return sub(ctx, env)
		}
	}
	return runStages(ctx, env, "notices", []string{"notices"}, false)
}

// runNoticesSync syncs one source, or every source, once: from --from (a
// file, directory or URL) or from the sources' default URLs.
func runNoticesSync(ctx context.Context, env Env) error {
	var source, from string
	cfg, args, err := parse(env, "notices sync", func(fs *flag.FlagSet) {
		fs.StringVar(&source, "source", "", "source to sync: "+
			strings.Join(notices.Sources(), ", ")+"; empty for all")
		fs.StringVar(&from, "from", "", "file, directory or URL to read instead of the "+
			"source's default URLs")
	})
	if err != nil {
		return err
	}
	if len(args) > 0 || (from != "" && source == "") {
		return fmt.Errorf("%w: notices sync [--source S] [--from URL|FILE|DIR]; "+
			"--from needs --source", errUsage)
	}
	sources := []string{source}
	if source == "" {
		sources = notices.Sources()
	}
	var jobs []notices.Source
	for _, src := range sources {
		jobs = append(jobs, notices.Source{Source: src, Location: from})
	}
	return syncSources(ctx, env, cfg, jobs)
}

// syncSources syncs each job once and prints its result.
func syncSources(ctx context.Context, env Env, cfg *config.Config, jobs []notices.Source) error {
	log := newLogger(cfg, env.Stderr)
	r, err := open(ctx, cfg, log, "")
	if err != nil {
		return err
	}
	defer r.close()
	st := notices.New(r.pool, r.bus, notices.Options{Logger: log})
	for _, j := range jobs {
		res, err := st.Sync(ctx, j.Source, j.Location)
		if err != nil {
			return err
		}
		name := j.Location
		if name == "" {
			name = j.Source
		}
		fmt.Fprintf(env.Stdout, "%s: %s\n", name, res)
	}
	return nil
}

// runNoticesLoad loads lists given as arguments: `notices load --source
// dsa FILE|URL...`.
func runNoticesLoad(ctx context.Context, env Env) error {
	var source string
	cfg, args, err := parse(env, "notices load", func(fs *flag.FlagSet) {
		fs.StringVar(&source, "source", "dsa", "source of the lists: dsa (Debian DSA or "+
			"DLA list) or any of "+strings.Join(notices.Sources(), ", "))
	})
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return fmt.Errorf("%w: notices load needs a FILE or URL", errUsage)
	}
	var jobs []notices.Source
	for _, loc := range args {
		jobs = append(jobs, notices.Source{Source: source, Location: loc})
	}
	return syncSources(ctx, env, cfg, jobs)
}

// runNoticesList prints stored notices, newest first.
func runNoticesList(ctx context.Context, env Env) error {
	var source string
	var limit int
	cfg, args, err := parse(env, "notices list", func(fs *flag.FlagSet) {
		fs.StringVar(&source, "source", "", "only notices of this source")
		fs.IntVar(&limit, "limit", 50, "most notices to print")
	})
	if err != nil {
		return err
	}
	if len(args) > 0 || limit <= 0 {
		return fmt.Errorf("%w: notices list [--source S] [--limit N>0]", errUsage)
	}
	pool, err := openPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	list, err := notices.List(ctx, pool, source, limit)
	if err != nil {
		return err
	}
	printList(env.Stdout, list)
	return nil
}

func printList(w io.Writer, list []notices.Summary) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSOURCE\tPUBLISHED\tSEVERITY\tROWS\tTITLE")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", s.ID, s.Source, day(s.Published),
			s.Severity, s.Affected, s.Title)
	}
	_ = tw.Flush()
}

// runNoticesShow prints one notice and its affected rows.
func runNoticesShow(ctx context.Context, env Env) error {
	cfg, args, err := parse(env, "notices show", nil)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return fmt.Errorf("%w: notices show ID", errUsage)
	}
	pool, err := openPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	d, err := notices.Show(ctx, pool, args[0])
	if err != nil {
		return err
	}
	printDetail(env.Stdout, d)
	return nil
}

func printDetail(w io.Writer, d notices.Detail) {
	fmt.Fprintf(w, "%s (%s)\n%s\npublished %s, severity %q\ncves: %s\nurl: %s\n\n",
		d.ID, d.Source, d.Title, day(d.Published), d.Severity, strings.Join(d.CVEs, " "), d.URL)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ECOSYSTEM\tRELEASE\tPACKAGE\tSTATUS\tFIXED\tRANGES")
	for _, r := range d.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Ecosystem, r.Release, r.Package,
			r.Status, r.FixedVersion, r.Ranges)
	}
	_ = tw.Flush()
}

func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.DateOnly)
}
