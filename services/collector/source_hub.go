package collector

import (
	"cmp"
	"context"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	crawlspacev1 "crawlspace.dev/proto/crawlspace/v1"
	"crawlspace.dev/services/collector/hub"
)

// hubWalk holds one hub run's state.
type hubWalk struct {
	client *hub.Client
	policy Policy
	opts   Options
	visit  Visit
	seen   map[string]bool
	// skipping is true while a resumed run passes repositories up to its
	// cursor.
	skipping bool
	cursor   string
}

// walkHub visits Hub repositories. Walk mode: the official images, most
// pulled first, each followed by a search for its name, most pulled
// first. Sort mode: a search over everything in spec.Sort order. A resumed
// run lists again and skips up to its cursor, which is a repository path.
func walkHub(ctx context.Context, spec Spec, policy Policy, cursor string, opts Options,
	visit Visit) error {
	base := opts.HubURL
	if spec.URL != "" {
		base = spec.URL
	}
	c, err := hub.New(base, opts.Fetch)
	if err != nil {
		return err
	}
	w := &hubWalk{client: c, policy: policy, opts: opts, visit: visit, seen: map[string]bool{},
		skipping: cursor != "", cursor: cursor}
	if spec.Mode == "sort" {
		ordering := "-" + cmp.Or(spec.Sort, "pull_count")
		return c.Search(ctx, "", ordering, opts.PageSize, w.page(ctx))
	}
	var official []hub.Repository
	err = c.Official(ctx, opts.PageSize, func(rs []hub.Repository) (bool, error) {
		official = append(official, rs...)
		return true, nil
	})
	if err != nil {
		return err
	}
	slices.SortStableFunc(official, func(a, b hub.Repository) int {
		return cmp.Compare(b.PullCount, a.PullCount)
	})
	for _, o := range official {
		if err := w.one(ctx, o); err != nil {
			return err
		}
		// One page of the search: the most pulled repositories named like
		// the official image.
		err := c.Search(ctx, o.Name, "-pull_count", opts.PageSize,
			func(rs []hub.Repository) (bool, error) { return false, w.each(ctx, rs) })
		if err != nil {
			return err
		}
	}
	return nil
}

func (w *hubWalk) page(ctx context.Context) hub.Page[hub.Repository] {
	return func(rs []hub.Repository) (bool, error) { return true, w.each(ctx, rs) }
}

func (w *hubWalk) each(ctx context.Context, rs []hub.Repository) error {
	for _, r := range rs {
		if err := w.one(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// one visits r unless this run has, or it lies before the cursor.
func (w *hubWalk) one(ctx context.Context, r hub.Repository) error {
	path := r.Path()
	if w.seen[path] {
		return nil
	}
	w.seen[path] = true
	if w.skipping {
		w.skipping = path != w.cursor
		return nil
	}
	repo, err := w.repository(ctx, r)
	if err != nil {
		return err
	}
	return w.visit(ctx, repo)
}

// repository builds what the run knows of r and applies the tag policy.
// The latest policy names :latest without listing tags; the others list
// them, and recent:N orders them by Hub's last_updated.
func (w *hubWalk) repository(ctx context.Context, r hub.Repository) (*Repository, error) {
	observed := w.opts.Now()
	if r.PullCount == 0 {
		r.PullCount = w.pagePulls(ctx, r.Path())
	}
	repo := &Repository{Key: r.Path(), Registry: w.opts.HubRegistry, Name: r.Path(),
		LastUpdated: r.LastUpdated, Popularity: &crawlspacev1.Popularity{
			Official: r.Official, Publisher: r.Namespace, PullCount: r.PullCount,
			StarCount: r.StarCount, Bucket: hub.Bucket(r.PullCount),
			ObservedAt: timestamppb.New(observed)}}
	if !r.LastUpdated.IsZero() {
		repo.Popularity.LastUpdated = timestamppb.New(r.LastUpdated)
	}
	if !w.policy.NeedsList() {
		repo.Tags = []string{"latest"}
		return repo, nil
	}
	tags, err := w.client.Tags(ctx, r.Path(), w.opts.PageSize)
	if err != nil {
		return nil, err
	}
	updated := map[string]time.Time{}
	repo.Listed = []string{}
	for _, t := range tags {
		repo.Listed = append(repo.Listed, t.Name)
		updated[t.Name] = t.LastUpdated
	}
	repo.Tags, err = w.policy.Select(ctx, repo.Listed,
		func(_ context.Context, tag string) (time.Time, error) { return updated[tag], nil })
	return repo, err
}

// pagePulls reads the pull count off the repository's HTML page, for an
// API answer without one. A page that shows none counts as 0. A rounded
// count ("10M+") is stored as its least value.
func (w *hubWalk) pagePulls(ctx context.Context, path string) int64 {
	n, text, err := w.client.RepositoryPage(ctx, path)
	if err != nil {
		w.opts.Logger.WarnContext(ctx, "no pull count on hub page", "repository", path,
			"err", err)
		return 0
	}
	w.opts.Logger.DebugContext(ctx, "pull count from hub page", "repository", path,
		"pulls", text)
	return n
}
