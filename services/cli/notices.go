package cli

import (
	"context"
	"flag"
	"fmt"

	"crawlspace.dev/services/notices"
)

// runNotices runs the notices stage, or `notices load` for one list.
func runNotices(ctx context.Context, env Env) error {
	if len(env.Args) > 0 && env.Args[0] == "load" {
		env.Args = env.Args[1:]
		return runNoticesLoad(ctx, env)
	}
	return runStages(ctx, env, "notices", []string{"notices"}, false)
}

func runNoticesLoad(ctx context.Context, env Env) error {
	var source string
	cfg, args, err := parse(env, "notices load", func(fs *flag.FlagSet) {
		fs.StringVar(&source, "source", "dsa", "list format: dsa (Debian DSA or DLA list)")
	})
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return fmt.Errorf("%w: notices load needs a FILE or URL", errUsage)
	}
	log := newLogger(cfg, env.Stderr)
	r, err := open(ctx, cfg, log, "")
	if err != nil {
		return err
	}
	defer r.close()
	st := notices.New(r.pool, r.bus, notices.Options{Logger: log})
	for _, loc := range args {
		res, err := st.Load(ctx, source, loc)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s: %s\n", loc, res)
	}
	return nil
}
