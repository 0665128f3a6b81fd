package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"crawlspace.dev/services/notices"
	"crawlspace.dev/services/platform/config"
	"crawlspace.dev/services/platform/store"
)

// parse parses the shared flags and those extra adds, and validates them.
func parse(env Env, name string, extra func(fs *flag.FlagSet)) (*config.Config, []string, error) {
	cfg := &config.Config{}
	fs := config.NewFlagSet("crawlspace "+name, env.Stderr)
	cfg.Register(fs, env.Getenv)
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(env.Args); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errUsage, err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	return cfg, fs.Args(), nil
}

// register defines the flags of stages, the notices and compliance flags
// always.
func (so *stageOptions) register(fs *flag.FlagSet, getenv func(string) string,
	stages []string) {
	if slices.Contains(stages, "collector") {
		so.collect.register(fs, getenv)
	}
	if slices.Contains(stages, "crawler") {
		so.crawl.registerStage(fs, getenv)
	}
	so.noticesSources = []string{notices.DefaultDSAList}
	config.List(fs, getenv, &so.noticesSources, "notices-sources", "CRAWLSPACE_NOTICES_SOURCES",
		"what the notices stage syncs: SOURCE=LOCATION or a DSA-format list; \"none\" for none")
	config.Str(fs, getenv, &so.noticesInterval, "notices-interval", "6h",
		"time between notice syncs")
	so.registerRules(fs, getenv)
}

// registerRules defines the compliance stage's flags, which scan shares.
func (so *stageOptions) registerRules(fs *flag.FlagSet, getenv func(string) string) {
	config.List(fs, getenv, &so.rulesDirs, "rules-dir", "CRAWLSPACE_RULES_DIR",
		"directory of compliance rule files checked besides the built-in rules")
}

// notices returns the notices stage's options from the flags.
func (so *stageOptions) notices(log *slog.Logger) (notices.Options, error) {
	interval, err := time.ParseDuration(so.noticesInterval)
	if err != nil || interval <= 0 {
		return notices.Options{}, fmt.Errorf("notices-interval %q: want a positive duration",
			so.noticesInterval)
	}
	// An empty, non-nil list means no sources; nil would mean the default.
	opts := notices.Options{Logger: log, Interval: interval, Sources: []notices.Source{}}
	// Entries are a DSA-format list, or SOURCE=LOCATION for any source.
	for _, spec := range so.noticesSources {
		if spec == "none" {
			continue
		}
		src, err := notices.ParseSource(spec)
		if err != nil {
			return notices.Options{}, fmt.Errorf("notices-sources %q: %w", spec, err)
		}
		opts.Sources = append(opts.Sources, src)
	}
	return opts, nil
}

// runStages runs the named stages, with the HTTP server, until ctx is done.
func runStages(ctx context.Context, env Env, name string, stages []string, listen bool) error {
	var so stageOptions
	cfg, _, err := parse(env, name, func(fs *flag.FlagSet) {
		so.register(fs, env.Getenv, stages)
	})
	if err != nil {
		return err
	}
	log := newLogger(cfg, env.Stderr)
	addr := ""
	if listen {
		addr = cfg.NATSListen
	}
	r, err := open(ctx, cfg, log, addr)
	if err != nil {
		return err
	}
	defer r.close()

	// The HTTP server starts after the stages, so that it can mount the
	// API a stage returns (only the collector has one). On a start error
	// the stages already started are stopped and waited for.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	stop := func(err error) error {
		cancel()
		return errors.Join(err, g.Wait())
	}
	var api http.Handler
	for _, s := range stages {
		h, err := r.startStageAPI(gctx, g, s, &so)
		if err != nil {
			return stop(err)
		}
		if h != nil {
			api = h
		}
	}
	if err := r.serveHTTP(gctx, g, api); err != nil {
		return stop(err)
	}
	log.Info("stages running", "stages", strings.Join(stages, ","))
	err = g.Wait()
	log.Info("stages stopped")
	return err
}

func runAll(ctx context.Context, env Env) error {
	return runStages(ctx, env, "all",
		[]string{"collector", "crawler", "notices", "matcher", "compliance"}, true)
}

func stageCommand(stage string) func(context.Context, Env) error {
	return func(ctx context.Context, env Env) error {
		return runStages(ctx, env, stage, []string{stage}, false)
	}
}

func runMigrate(ctx context.Context, env Env) error {
	cfg, _, err := parse(env, "migrate", nil)
	if err != nil {
		return err
	}
	pool, err := openPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := store.Migrate(ctx, pool); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "schema is up to date")
	return nil
}
