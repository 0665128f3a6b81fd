package cli

import (
	"context"
	"fmt"
)

// runCollector publishes the names given as arguments. Docker Hub and
// registry catalogs are not walked yet.
func runCollector(ctx context.Context, env Env) error {
	cfg, refs, err := parse(env, "collector", nil)
	if err != nil {
		return err
	}
	if len(refs) == 0 {
		return fmt.Errorf("%w: collector needs image references", errUsage)
	}
	log := newLogger(cfg, env.Stderr)
	r, err := open(ctx, cfg, log, "")
	if err != nil {
		return err
	}
	defer r.close()
	run := newRunID()
	for _, ref := range splitRefs(refs) {
		if err := publishNamed(ctx, r, run, ref); err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, ref)
	}
	return nil
}
