package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	crawlspacev1 "crawlspace.dev/proto/crawlspace/v1"
	"crawlspace.dev/services/collector"
	"crawlspace.dev/services/platform/config"
	"crawlspace.dev/services/platform/fetch"
	"crawlspace.dev/services/platform/registryauth"
)

// collectFlags are `collect`'s flags; the collector stage shares those
// [collectFlags.registerClient] defines.
type collectFlags struct {
	tags, runID, mode, sort, hubURL, hubRegistry string
	limit, pageSize, burst                       int
	rate                                         float64
	dryRun                                       bool
}

func (f *collectFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	config.Str(fs, getenv, &f.tags, "tags", "latest",
		"tag policy: latest, all, recent:N or regexp:RE")
	config.Str(fs, getenv, &f.runID, "run-id", "", "run id; an existing run's id resumes it")
	config.Str(fs, getenv, &f.mode, "mode", "walk", "hub mode: walk or sort")
	config.Str(fs, getenv, &f.sort, "sort", "pull_count",
		"hub sort order: pull_count or star_count")
	config.Int(fs, getenv, &f.limit, "limit", 0, "most repositories to name; 0 for no bound "+
		"(hub: 100)")
	config.Bool(fs, getenv, &f.dryRun, "dry-run", false,
		"print the names as JSON lines and publish nothing")
	f.registerClient(fs, getenv)
}

// registerClient defines the flags of how the collector reaches
// registries, which the collector stage shares with `collect`.
func (f *collectFlags) registerClient(fs *flag.FlagSet, getenv func(string) string) {
	config.Str(fs, getenv, &f.hubURL, "hub-url", "https://hub.docker.com", "Docker Hub base URL")
	config.Str(fs, getenv, &f.hubRegistry, "hub-registry", "docker.io",
		"registry that Hub repositories are named under")
	config.Int(fs, getenv, &f.pageSize, "page-size", 100, "entries per catalog or tag-list page")
	config.Int(fs, getenv, &f.burst, "rate-burst", 1, "requests one host may get at once")
	fs.Float64Var(&f.rate, "rate", 5, "most requests per second to one host")
}

// options builds the collector's options; credentials come from the auth
// files the environment points at.
func (f *collectFlags) options(getenv func(string) string,
	log *slog.Logger) (collector.Options, error) {
	auth, err := registryauth.Load(registryauth.DefaultPaths(getenv)...)
	if err != nil {
		return collector.Options{}, err
	}
	return collector.Options{
		Logger:      log.With("component", "collector"),
		Fetch:       fetch.New(fetch.Options{Rate: f.rate, Burst: f.burst}),
		Auth:        auth,
		HubURL:      f.hubURL,
		HubRegistry: f.hubRegistry,
		PageSize:    f.pageSize,
	}, nil
}

// runCollect is `crawlspace collect registry URL` and `crawlspace collect
// hub`: one run, stored and published, or printed with --dry-run.
func runCollect(ctx context.Context, env Env) error {
	if len(env.Args) == 0 || (env.Args[0] != "registry" && env.Args[0] != "hub") {
		fmt.Fprintln(env.Stderr, "usage: crawlspace collect registry URL [flags]\n"+
			"       crawlspace collect hub --mode walk|sort [flags]")
		return fmt.Errorf("%w: collect needs registry or hub", errUsage)
	}
	source, rest := env.Args[0], env.Args[1:]
	var url string
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		url, rest = rest[0], rest[1:]
	}
	var cf collectFlags
	sub := env
	sub.Args = rest
	cfg, args, err := parse(sub, "collect "+source, func(fs *flag.FlagSet) {
		cf.register(fs, env.Getenv)
	})
	if err != nil {
		return err
	}
	if url == "" && len(args) > 0 {
		url, args = args[0], args[1:]
	}
	if len(args) > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, args)
	}
	spec := collector.Spec{Source: source, Tags: cf.tags, Limit: cf.limit, RunID: cf.runID}
	if source == "registry" {
		spec.URL = registryURL(url, cfg.InsecureRegistries)
	} else {
		spec.Mode, spec.Sort, spec.URL = cf.mode, cf.sort, url
	}
	if err := spec.Validate(); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	log := newLogger(cfg, env.Stderr)
	opts, err := cf.options(env.Getenv, log)
	if err != nil {
		return err
	}
	if cf.dryRun {
		return dryRun(ctx, env.Stdout, spec, opts)
	}
	r, err := open(ctx, cfg, log, "")
	if err != nil {
		return err
	}
	defer r.close()
	res, err := collector.New(r.pool, r.bus, opts).Run(ctx, spec)
	if res.RunID != "" {
		_ = json.NewEncoder(env.Stdout).Encode(res)
	}
	return err
}

// registryURL adds a scheme to a bare host[/path]: http for the insecure
// registries, https for the rest.
func registryURL(s string, insecure []string) string {
	if s == "" || strings.Contains(s, "://") {
		return s
	}
	host, _, _ := strings.Cut(s, "/")
	if slices.Contains(insecure, host) {
		return "http://" + s
	}
	return "https://" + s
}

// dryName is one line of --dry-run output.
type dryName struct {
	Ref        string         `json:"ref"`
	Popularity *dryPopularity `json:"popularity,omitempty"`
}

type dryPopularity struct {
	Official    bool       `json:"official"`
	Publisher   string     `json:"publisher,omitempty"`
	PullCount   int64      `json:"pull_count"`
	StarCount   int64      `json:"star_count"`
	Bucket      string     `json:"bucket,omitempty"`
	ObservedAt  time.Time  `json:"observed_at"`
	LastUpdated *time.Time `json:"last_updated,omitempty"`
}

func newDryPopularity(p *crawlspacev1.Popularity) *dryPopularity {
	if p == nil {
		return nil
	}
	d := &dryPopularity{Official: p.GetOfficial(), Publisher: p.GetPublisher(),
		PullCount: p.GetPullCount(), StarCount: p.GetStarCount(), Bucket: p.GetBucket(),
		ObservedAt: p.GetObservedAt().AsTime()}
	if p.GetLastUpdated() != nil {
		t := p.GetLastUpdated().AsTime()
		d.LastUpdated = &t
	}
	return d
}

// dryRun prints the names spec yields, one JSON object a line, touching
// neither the database nor NATS.
func dryRun(ctx context.Context, w io.Writer, spec collector.Spec, opts collector.Options) error {
	enc := json.NewEncoder(w)
	printNames := func(_ context.Context, r *collector.Repository) error {
		for _, tag := range r.Tags {
			if err := enc.Encode(dryName{Ref: r.Ref(tag),
				Popularity: newDryPopularity(r.Popularity)}); err != nil {
				return fmt.Errorf("print name: %w", err)
			}
		}
		return nil
	}
	return collector.Walk(ctx, spec, "", opts, printNames)
}

// runCollector is the collector stage on its own: it runs the configured
// schedule and serves POST /v1/collect beside metrics and health on its
// HTTP port. `all` runs the same stage.
func runCollector(ctx context.Context, env Env) error {
	return runStages(ctx, env, "collector", []string{"collector"}, false)
}

// collectStage holds the collector stage's flags.
type collectStage struct {
	client   collectFlags
	runs     string
	interval time.Duration
	getenv   func(string) string
}

func (cs *collectStage) register(fs *flag.FlagSet, getenv func(string) string) {
	cs.getenv = getenv
	cs.client.registerClient(fs, getenv)
	config.Str(fs, getenv, &cs.runs, "collect-runs", "",
		"scheduled runs: a JSON array of run specs, or @FILE holding one")
	config.Duration(fs, getenv, &cs.interval, "collect-interval", 24*time.Hour,
		"time between scheduled runs")
}

// start runs the schedule on g and returns the stage's HTTP API. The runs
// the API starts end with ctx, and g waits for them.
func (cs *collectStage) start(ctx context.Context, g *errgroup.Group,
	r *runtime) (http.Handler, error) {
	specs, err := readSpecs(cs.runs, r.cfg.InsecureRegistries)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errUsage, err)
	}
	if cs.interval <= 0 {
		return nil, fmt.Errorf("%w: collect-interval %v: want a positive duration", errUsage,
			cs.interval)
	}
	opts, err := cs.client.options(cs.getenv, r.log)
	if err != nil {
		return nil, err
	}
	c := collector.New(r.pool, r.bus, opts)
	handler, wait := c.Handler(ctx)
	g.Go(func() error { return c.Schedule(ctx, specs, cs.interval) })
	g.Go(func() error {
		<-ctx.Done()
		wait()
		return nil
	})
	r.log.Info("collector running", "runs", len(specs), "interval", cs.interval.String())
	return handler, nil
}

// readSpecs parses --collect-runs.
func readSpecs(s string, insecure []string) ([]collector.Spec, error) {
	if s == "" {
		return nil, nil
	}
	data := []byte(s)
	if file, ok := strings.CutPrefix(s, "@"); ok {
		var err error
		if data, err = os.ReadFile(file); err != nil {
			return nil, fmt.Errorf("read collect runs: %w", err)
		}
	}
	var specs []collector.Spec
	if err := json.Unmarshal(data, &specs); err != nil {
		return nil, fmt.Errorf("collect runs: %w", err)
	}
	for i := range specs {
		if specs[i].Source == "registry" {
			specs[i].URL = registryURL(specs[i].URL, insecure)
		}
		if err := specs[i].Validate(); err != nil {
			return nil, fmt.Errorf("collect run %d: %w", i+1, err)
		}
	}
	return specs, nil
}
