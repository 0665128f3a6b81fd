// Package collector is the pipeline's first stage: it lists repositories
// and tags from an OCI registry's catalog or from Docker Hub, stores what
// it saw (repositories, tags, popularity, with when), and publishes each
// chosen name to image.named once per run, with its popularity. A run
// keeps a cursor in PostgreSQL, so that a stopped run resumes where it was.
package collector

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/types/known/timestamppb"

	crawlspacev1 "crawlspace.dev/proto/crawlspace/v1"
	"crawlspace.dev/services/platform/bus"
	"crawlspace.dev/services/platform/fetch"
	"crawlspace.dev/services/platform/registryauth"
)

// Spec describes one run. It is the JSON body of POST /v1/collect and an
// entry of the stage's schedule.
type Spec struct {
	// Source is "registry" or "hub".
	Source string `json:"source"`
	// URL is the registry's base URL for a registry run, such as
	// "https://registry.example"; a path after the host keeps only the
	// repositories under it ("http://127.0.0.1:5000/team"). For a hub run
	// it overrides the collector's Hub URL.
	URL string `json:"url,omitempty"`
	// Tags is the tag policy, as [ParsePolicy] reads it. Default latest.
	Tags string `json:"tags,omitempty"`
	// Mode is the hub run's mode: walk or sort.
	Mode string `json:"mode,omitempty"`
	// Sort is what a hub sort run orders by: pull_count (default) or
	// star_count.
	Sort string `json:"sort,omitempty"`
	// Limit bounds the repositories a run names; 0 means no bound (a hub
	// run's default is 100).
	Limit int `json:"limit,omitempty"`
	// RunID names the run. A run id already in the database resumes that
	// run from its cursor; empty means a new run.
	RunID string `json:"run_id,omitempty"`
}

// Validate reports a spec no run can start from.
func (s Spec) Validate() error {
	var errs []error
	switch s.Source {
	case "registry":
		if s.URL == "" {
			errs = append(errs, errors.New("a registry run needs a url"))
		}
	case "hub":
		if s.Mode != "walk" && s.Mode != "sort" {
			errs = append(errs, fmt.Errorf("hub mode %q: want walk or sort", s.Mode))
		}
		if s.Sort != "" && s.Sort != "pull_count" && s.Sort != "star_count" {
			errs = append(errs, fmt.Errorf("hub sort %q: want pull_count or star_count", s.Sort))
		}
	default:
		errs = append(errs, fmt.Errorf("source %q: want registry or hub", s.Source))
	}
	if s.Limit < 0 {
		errs = append(errs, fmt.Errorf("limit %d: want 0 or more", s.Limit))
	}
	if _, err := ParsePolicy(s.Tags); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Repository is what a source saw of one repository, and the names chosen
// from it.
type Repository struct {
	// Key is the run's cursor once this repository is done.
	Key string
	// Registry and Name identify it as image references do: "docker.io"
	// and "library/nginx".
	Registry, Name string
	// Popularity is what the registry said of it; nil when nothing.
	Popularity *crawlspacev1.Popularity
	// LastUpdated is the registry's last-update time, when it says.
	LastUpdated time.Time
	// Listed holds the tags seen; nil when the source named tags without
	// listing them.
	Listed []string
	// Tags are the tags the run's policy chose.
	Tags []string
}

// Ref returns the image reference of tag.
func (r *Repository) Ref(tag string) string { return r.Registry + "/" + r.Name + ":" + tag }

// Options configures a [Collector]. Zero fields take defaults.
type Options struct {
	// Logger receives run progress. Default slog.Default().
	Logger *slog.Logger
	// Fetch sends every request. Default fetch.New with its defaults.
	Fetch *fetch.Client
	// Auth holds registry credentials; nil means anonymous.
	Auth *registryauth.Store
	// HubURL is Docker Hub's API and web base. Default
	// https://hub.docker.com.
	HubURL string
	// HubRegistry is the registry Hub repositories are named under.
	// Default docker.io.
	HubRegistry string
	// PageSize is the n of catalog and tag-list requests. Default 100.
	PageSize int
	// Now reads the clock. Default time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Fetch == nil {
		o.Fetch = fetch.New(fetch.Options{})
	}
	if o.HubURL == "" {
		o.HubURL = "https://hub.docker.com"
	}
	if o.HubRegistry == "" {
		o.HubRegistry = "docker.io"
	}
	if o.PageSize <= 0 {
		o.PageSize = 100
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Collector runs collections. It is safe for concurrent use; each run
// works on its own.
type Collector struct {
	pool *pgxpool.Pool
	bus  *bus.Bus
	opts Options
}

// New returns a Collector that stores in pool and publishes on b.
func New(pool *pgxpool.Pool, b *bus.Bus, opts Options) *Collector {
	return &Collector{pool: pool, bus: b, opts: opts.withDefaults()}
}

// Result sums up a run.
type Result struct {
	RunID        string `json:"run_id"`
	Repositories int    `json:"repositories"`
	Names        int    `json:"names"`
	Resumed      bool   `json:"resumed"`
}

// Visit is called for each repository a walk yields, in order.
type Visit func(ctx context.Context, r *Repository) error

// errLimit stops a walk that reached its limit.
var errLimit = errors.New("limit reached")

// Walk lists spec's repositories after cursor and calls visit for each,
// stopping after spec.Limit of them. It stores and publishes nothing:
// [Collector.Run] and a dry run both build on it.
func Walk(ctx context.Context, spec Spec, cursor string, opts Options, visit Visit) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	opts = opts.withDefaults()
	policy, _ := ParsePolicy(spec.Tags)
	limit := spec.Limit
	if limit == 0 && spec.Source == "hub" {
		limit = 100
	}
	seen := 0
	counted := func(ctx context.Context, r *Repository) error {
		if err := visit(ctx, r); err != nil {
			return err
		}
		if seen++; limit > 0 && seen >= limit {
			return errLimit
		}
		return nil
	}
	var err error
	switch spec.Source {
	case "registry":
		err = walkRegistry(ctx, spec, policy, cursor, opts, counted)
	case "hub":
		err = walkHub(ctx, spec, policy, cursor, opts, counted)
	}
	if errors.Is(err, errLimit) {
		return nil
	}
	return err
}

// Run runs spec: a new run, or the resumption of spec.RunID from its
// cursor. Each repository is stored, its names published once for the run,
// and then the cursor moves past it.
func (c *Collector) Run(ctx context.Context, spec Spec) (Result, error) {
	st, err := c.begin(ctx, spec)
	if err != nil {
		return Result{}, err
	}
	return c.walk(ctx, st)
}

// started is a run recorded in the database and not yet walked.
type started struct {
	spec    Spec
	cursor  string
	resumed bool
}

// begin validates spec, names it when it has no run id, and records the
// run, so that its status can be read from then on.
func (c *Collector) begin(ctx context.Context, spec Spec) (started, error) {
	if err := spec.Validate(); err != nil {
		return started{}, err
	}
	if spec.RunID == "" {
		spec.RunID = NewRunID()
	}
	cursor, resumed, err := c.startRun(ctx, spec)
	if err != nil {
		return started{}, err
	}
	return started{spec: spec, cursor: cursor, resumed: resumed}, nil
}

// walk walks a begun run from its cursor and records how it ended.
func (c *Collector) walk(ctx context.Context, st started) (Result, error) {
	spec := st.spec
	log := c.opts.Logger.With("run", spec.RunID, "source", spec.Source)
	log.Info("collect run started", "resumed", st.resumed, "cursor", st.cursor)
	res := Result{RunID: spec.RunID, Resumed: st.resumed}
	err := Walk(ctx, spec, st.cursor, c.opts, func(ctx context.Context, r *Repository) error {
		n, err := c.visit(ctx, spec.RunID, r)
		if err != nil {
			return err
		}
		res.Repositories++
		res.Names += n
		return nil
	})
	if ferr := c.finishRun(context.WithoutCancel(ctx), spec.RunID, err); ferr != nil {
		err = errors.Join(err, ferr)
	}
	if err != nil {
		log.Error("collect run stopped", "repositories", res.Repositories, "names", res.Names,
			"err", err)
		return res, fmt.Errorf("collect run %s: %w", spec.RunID, err)
	}
	log.Info("collect run finished", "repositories", res.Repositories, "names", res.Names)
	return res, nil
}

// visit stores r, publishes its names not yet published in run, and moves
// the cursor past it. It returns how many names it published.
func (c *Collector) visit(ctx context.Context, run string, r *Repository) (int, error) {
	seen := c.opts.Now()
	if err := c.storeRepository(ctx, r, seen); err != nil {
		return 0, err
	}
	done, err := c.published(ctx, run, r)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, tag := range r.Tags {
		ref := r.Ref(tag)
		if done[ref] {
			continue
		}
		ev := &crawlspacev1.ImageNamed{Ref: ref, RunId: run, Popularity: r.Popularity,
			NamedAt: timestamppb.New(seen)}
		if err := c.bus.Publish(ctx, crawlspacev1.SubjectImageNamed, "named:"+run+":"+ref,
			ev); err != nil {
			return n, err
		}
		if err := c.markNamed(ctx, run, ref, seen); err != nil {
			return n, err
		}
		n++
	}
	return n, c.advance(ctx, run, r.Key, n)
}

// NewRunID returns a random id for one run.
func NewRunID() string { return strings.ToLower(rand.Text()) }
